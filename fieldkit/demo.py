"""A realistic, deterministic synthetic caseload for demos, tests and benchmarks.

Every name, address and note is invented. The same seed and anchor date give the same
document, which goes through the same import path as a real transfer file.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from fieldkit.transfer import FORMAT

GIVEN = [
    "Maya",
    "Leo",
    "Ana",
    "Rosa",
    "Sam",
    "Noah",
    "Ava",
    "Liam",
    "Zoe",
    "Omar",
    "Priya",
    "Kai",
    "Mila",
    "Ezra",
    "Isla",
    "Jonah",
    "Nia",
    "Theo",
    "Lena",
    "Ravi",
    "Aiyana",
    "Mateo",
    "Chloe",
    "Dev",
    "Hana",
    "Tariq",
    "Elsie",
    "Finn",
    "Grace",
    "Ibrahim",
]
FAMILY = [
    "Ortiz",
    "Nguyen",
    "Clarke",
    "Haddad",
    "Okafor",
    "Martin",
    "Singh",
    "Kowalski",
    "Thunderbird",
    "Moreau",
    "Lindqvist",
    "Abebe",
    "Rossi",
    "Tanaka",
    "MacLeod",
    "Silva",
    "Mensah",
    "Dubois",
    "Petrov",
    "Cardinal",
]
STREETS = [
    "Elm Street",
    "Oak Road",
    "Birch Lane",
    "King Street",
    "Lakeview Drive",
    "Mill Road",
    "Queen Avenue",
    "Cedar Court",
]
THREATS = [
    "Caregiver intoxicated while sole carer of infant",
    "Violence between adults in the home while children present",
    "Caregiver's untreated mental illness leaves children unsupervised",
    "Infant left without adequate supervision or feeding",
    "Caregiver threatens to harm the child",
    "Home without heat or safe sleeping place for infant",
]
INTERVENTIONS = [
    ("Grandmother present evenings", "grandmother"),
    ("Caregiver attends daily outpatient program", "caregiver"),
    ("Aunt provides overnight care on weekends", "aunt"),
    ("Safety check calls from the worker on Tuesdays and Fridays", "worker"),
    ("Neighbour available as emergency contact", "neighbour"),
]
UNANNOUNCED_REASONS = [
    "safety plan not followed",
    "caregiver denied access at announced visit",
    "reported substance use in the home",
]
SETTINGS = ["kinship", "foster", "group"]


def demo_document(cases: int, seed: int, today: date) -> dict[str, Any]:
    """A case-transfer document of `cases` cases with visit histories up to `today`."""
    rng = random.Random(seed)
    workers = ["jsmith", "mlee", "tokoro"]
    return {
        "format": FORMAT,
        "cases": [_case(rng, n, today, workers[n % len(workers)]) for n in range(cases)],
    }


def _day(d: date) -> str:
    return d.isoformat()


def _case(rng: random.Random, n: int, today: date, worker: str) -> dict[str, Any]:
    kind = rng.choices(["in-home-cps", "out-of-home-cps", "child-welfare"], weights=[5, 3, 2])[0]
    track = {"in-home-cps": "home", "out-of-home-cps": "reunification"}.get(kind, "home")
    if kind == "out-of-home-cps" and rng.random() < 0.2:
        track = "permanency"
    opened = today - timedelta(days=rng.randint(10, 400))
    surname = rng.choice(FAMILY)
    people: list[dict[str, Any]] = []
    children = rng.randint(1, 3)
    removal = None
    for c in range(children):
        infant = c == 0 and rng.random() < 0.45
        age_days = rng.randint(60, 700) if infant else rng.randint(3 * 365, 16 * 365)
        child: dict[str, Any] = {
            "id": f"p{c + 1}",
            "role": "child",
            "name": f"{rng.choice(GIVEN)} {surname}",
            "dob": _day(today - timedelta(days=age_days)),
            "verbal": not infant,
            "victim": rng.random() < 0.8,
        }
        if kind == "out-of-home-cps":
            since = opened + timedelta(days=rng.randint(0, 20))
            removal = removal or since
            child["placement"] = {
                "setting": rng.choice(SETTINGS),
                "since": _day(since),
                "address": f"{rng.randint(1, 90)} {rng.choice(STREETS)}",
            }
        people.append(child)
    caregiver_id = f"p{children + 1}"
    people.append(
        {
            "id": caregiver_id,
            "role": "caregiver",
            "name": f"{rng.choice(GIVEN)} {surname}",
            "relationship": rng.choice(["mother", "father", "grandmother", "stepfather"]),
            "phone": f"555-{rng.randint(100, 999):03d}{rng.randint(0, 9)}",
        }
    )
    threats = []
    if kind != "child-welfare":
        for t in range(rng.randint(1, 2)):
            threats.append({"id": f"t{t + 1}", "text": rng.choice(THREATS)})
    plan = None
    if threats:
        plan = {
            "agreed": _day(opened),
            "interventions": [
                {"threat": t["id"], "text": text, "who": f"{rng.choice(GIVEN)} ({role})"}
                for t in threats
                for text, role in [rng.choice(INTERVENTIONS)]
            ],
        }
    child_ids = [p["id"] for p in people if p["role"] == "child"]
    verbal_victims = [
        p["id"] for p in people if p["role"] == "child" and p["verbal"] and p["victim"]
    ]
    nonverbal = [p["id"] for p in people if p["role"] == "child" and not p["verbal"]]
    visits = []
    day = opened + timedelta(days=rng.randint(2, 9))
    while day < today - timedelta(days=2):
        missed = [cid for cid in child_ids if rng.random() < 0.08]
        seen = [cid for cid in child_ids if cid not in missed]
        visits.append(
            {
                "date": _day(day),
                "announced": rng.random() < 0.7,
                "seen": seen,
                "private_interview": [
                    c for c in verbal_victims if c in seen and rng.random() < 0.9
                ],
                "observed": [c for c in nonverbal if c in seen],
            }
        )
        # Mostly monthly, as VI-1 asks; now and then a visit slips.
        day += timedelta(days=rng.randint(14, 30) if rng.random() < 0.9 else rng.randint(31, 45))
    assessment = opened + timedelta(days=rng.randint(5, 25))
    service_plan = opened + timedelta(days=rng.randint(18, 32)) if rng.random() < 0.9 else None
    if service_plan and service_plan > today:
        service_plan = None
    review = None
    if service_plan and (today - service_plan).days > 170 and rng.random() < 0.85:
        review = today - timedelta(days=rng.randint(10, 160))
    unannounced = rng.random() < 0.3
    return {
        "id": f"C-{today.year}-{n + 1:04d}",
        "kind": kind,
        "track": track,
        "opened": _day(opened),
        "worker": worker,
        "supervisor": "akhan",
        "address": f"{rng.randint(1, 200)} {rng.choice(STREETS)}, Apt {rng.randint(1, 12)}",
        "unannounced_visits": {
            "required": unannounced,
            "reason": f"{rng.choice(UNANNOUNCED_REASONS)} on {_day(opened)}" if unannounced else "",
        },
        "people": people,
        "safety": {"threats": threats, "plan": plan} if threats else {"threats": []},
        "history": {
            "removal_date": _day(removal) if removal else None,
            "assessment_completed": _day(assessment) if assessment <= today else None,
            "service_plan_completed": _day(service_plan) if service_plan else None,
            "last_formal_review": _day(review) if review else None,
            "last_supervision": _day(today - timedelta(days=rng.randint(3, 45))),
            "visits": visits,
        },
    }


GOALS = [
    (
        "Children are safe and supervised every evening",
        "No alcohol while caring for the children",
        "Attend the outpatient addiction program",
        "caregiver",
        "community clinic",
        "group sessions",
        "twice weekly",
        "attendance letters",
    ),
    (
        "The family has a stable, safe home",
        "Keep the heat and power on through the winter",
        "Apply for the utilities emergency fund",
        "caregiver with worker",
        "agency office",
        "application and budget plan",
        "by the next visit",
        "account statements",
    ),
    (
        "The infant's needs are met every day",
        "Regular feeding and safe sleep",
        "Public-health nurse home visits",
        "public-health nurse",
        "family home",
        "home visits and coaching",
        "weekly",
        "nurse's visit notes",
    ),
    (
        "Adults resolve conflict without violence",
        "No violent incidents in the home",
        "Partner-violence counselling",
        "both caregivers",
        "family service agency",
        "individual counselling",
        "weekly for 12 weeks",
        "counsellor's reports",
    ),
]


def plan_records(doc: dict[str, Any], seed: int) -> list[tuple[str, str, str, dict[str, Any]]]:
    """Rule PL-4: goals, objectives and activities for each case that has a service plan.

    (case id, record kind, record id, fields), written after the transfer import, as a
    worker's planning conference would add them.
    """
    rng = random.Random(seed * 7919 + 1)
    records: list[tuple[str, str, str, dict[str, Any]]] = []
    for case in doc["cases"]:
        done = (case.get("history") or {}).get("service_plan_completed")
        if not done:
            continue
        cid = case["id"]
        records.append(
            (
                cid,
                "service_plan",
                "sp1",
                {"completed": done, "family_agreement": "agreed at the family conference"},
            )
        )
        for n, goal in enumerate(rng.sample(GOALS, k=rng.randint(1, 2)), start=1):
            text, objective, activity, who, where, how, when, measure = goal
            records.append((cid, "goal", f"g{n}", {"text": text}))
            records.append((cid, "objective", f"o{n}", {"goal": f"g{n}", "text": objective}))
            records.append(
                (
                    cid,
                    "activity",
                    f"a{n}",
                    {
                        "objective": f"o{n}",
                        "text": activity,
                        "who": who,
                        "where": where,
                        "how": how,
                        "when": when,
                        "measure": measure,
                    },
                )
            )
    return records
