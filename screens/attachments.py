"""A case's attachments: the list (kind, size, caption), an image's preview on request,
and a decrypted copy on request.

The preview is made from the decrypted bytes in memory and drawn with half blocks ("▀" in
the colour of the upper pixel on the colour of the lower one), which any colour terminal
shows; nothing is written to disk. A copy for the desktop's viewer is written only on
request, in a private temporary directory (0700, in memory where the system offers it)
removed when the worker closes it, locks or quits.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from typing import TYPE_CHECKING, Any, cast

from fieldkit.screens.footer import KeyFooter
from fieldkit.screens.messages import WorkFailed
from fieldkit.screens.status_bar import StatusBar
from fieldkit.screens.workers import guarded, one_line
from rich.color import Color
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from fieldkit import attachments
from fieldkit.attachments import attachment_line, attachments_of, is_local, opened_copy
from fieldkit.errors import FieldkitError
from fieldkit.i18n import N_, _
from fieldkit.text import safe_content

if TYPE_CHECKING:
    from fieldkit.screens.app import FieldkitApp

    from fieldkit.attachments import Preview


class HalfBlocks:
    """A Rich renderable: one terminal cell per two pixels, stacked."""

    def __init__(self, rows: tuple[tuple[tuple[Any, Any], ...], ...]) -> None:
        self.rows = rows

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        """Each cell: "▀" in the upper pixel's colour on the lower pixel's colour."""
        for row in self.rows:
            for top, bottom in row:
                yield Segment(
                    "▀", Style(color=Color.from_rgb(*top), bgcolor=Color.from_rgb(*bottom))
                )
            yield Segment.line()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        """As wide as the picture (its cells), so a layout sized to content shows it."""
        width = max((len(row) for row in self.rows), default=0)
        return Measurement(width, width)


def preview_size(columns: int, lines: int) -> tuple[int, int]:
    """Cells an image may take on a screen of this size (room for the caption and keys)."""
    return max(8, columns - 8), max(4, lines - 10)


class PreviewScreen(ModalScreen[None]):
    """An image attachment with its caption; Escape closes it (the pixels are dropped)."""

    HELP_TITLE = N_("Attachment preview")
    BINDINGS = [Binding("escape,q", "close", N_("Close"))]
    DEFAULT_CSS = """
    PreviewScreen { align: center middle; }
    PreviewScreen > VerticalScroll {
        width: auto; min-width: 60; max-width: 100%; height: auto; max-height: 100%;
        padding: 0 1;
        border: thick $accent; background: $surface;
    }
    PreviewScreen #preview-caption { text-style: bold; }
    PreviewScreen #preview-image { width: auto; height: auto; }
    """

    def __init__(self, shown: Preview, colours: bool) -> None:
        super().__init__()
        self.shown = shown
        self.colours = colours

    def compose(self) -> ComposeResult:
        """Caption, what the file is, the picture, the key."""
        shown = self.shown
        caption = shown.caption or shown.name or _("no caption")
        with VerticalScroll():  # a very long caption scrolls; the picture is never cut
            yield Static(safe_content(caption), id="preview-caption")
            about = f"{shown.name} · {shown.width}×{shown.height} pixels"
            if not self.colours:
                about += " · this terminal shows few colours: press o on the list for a copy"
            yield Static(safe_content(about), id="preview-about")
            yield Static(HalfBlocks(shown.rows), id="preview-image")
            yield Static(_("Esc: close"), id="preview-hint")

    def action_close(self) -> None:
        """Back to the list."""
        self.dismiss(None)


class OpenedCopy(ModalScreen[None]):
    """A decrypted copy is open in the desktop's viewer; closing this removes it."""

    HELP_TITLE = N_("Decrypted copy")
    BINDINGS = [Binding("escape,enter", "close", N_("Remove the copy"))]
    DEFAULT_CSS = """
    OpenedCopy { align: center middle; }
    OpenedCopy > Vertical {
        width: 72; max-width: 100%; height: auto; padding: 1 2;
        border: thick $warning; background: $surface;
    }
    """

    def __init__(self, path: str, close: Any) -> None:
        super().__init__()
        self.path = path
        self._close = close

    def compose(self) -> ComposeResult:
        """Where the copy is, and that it goes away."""
        with Vertical():
            yield Static(
                _("Decrypted copy: {path}").format(path=safe_content(self.path)), id="copy-path"
            )
            yield Static(
                _(
                    "It is readable only by you and is removed when you press Enter or Esc "
                    "(or lock, or quit)."
                ),
                id="copy-hint",
            )

    def action_close(self) -> None:
        """Remove the copy and its folder."""
        self._close()
        self.dismiss(None)

    def on_unmount(self) -> None:
        """Locking or quitting takes this screen away: the copy goes with it."""
        self._close()


class AttachmentsScreen(Screen[None]):
    """The case's attachments; p (or Enter) previews an image, o opens a decrypted copy."""

    HELP_TITLE = N_("Attachments")
    BINDINGS = [
        Binding("p", "preview", N_("Preview")),
        Binding("o", "open_copy", N_("Open copy")),
        Binding("escape", "back", N_("Back")),
    ]

    class Listed(Message):
        """The attachments were read: (id, line) each."""

        def __init__(self, rows: list[tuple[str, str]]) -> None:
            super().__init__()
            self.rows = rows

    class PreviewReady(Message):
        """An image was decrypted in memory and downscaled for the screen."""

        def __init__(self, shown: Preview) -> None:
            super().__init__()
            self.shown = shown

    def __init__(self, case_id: str, title: str) -> None:
        super().__init__()
        self.case_id = case_id
        self.title_text = title
        self._copies: list[Any] = []
        """`close` of every decrypted copy opened from here (each removes its folder)."""
        self._gone = False

    def compose(self) -> ComposeResult:
        """Title, the list, the sync line, the keys."""
        yield Static(
            safe_content(_("Attachments · {what}").format(what=self.title_text)),
            classes="title-bar",
        )
        yield OptionList(id="attachments")
        yield StatusBar()
        yield KeyFooter()

    def on_mount(self) -> None:
        """Read the list off the UI thread."""
        self.load()

    @work(thread=True, exclusive=True, group="attachments")
    @guarded
    def load(self) -> None:
        """Kind, size, what it is on, caption; and whether it is on this laptop."""
        store = cast("FieldkitApp", self.app).store
        if store is None:
            return
        rows = []
        for att in attachments_of(store, self.case_id):
            fields = {
                "kind": att.kind,
                "size": att.size,
                "target": att.target,
                "target_id": att.target_id,
                "caption": att.caption,
                "name": att.name,
                "original_of": att.original_of,
            }
            here = "" if is_local(store, att) else " · on the server (sync to fetch)"
            rows.append((att.id, attachment_line(fields) + here))
        self.post_message(self.Listed(rows))

    @on(Listed)
    def _listed(self, event: Listed) -> None:
        box = self.query_one("#attachments", OptionList)
        box.clear_options()
        for att_id, line in event.rows:
            box.add_option(Option(safe_content(line), id=att_id))
        if not event.rows:
            box.add_option(Option(_("no attachments on this case"), disabled=True))
        else:
            box.highlighted = 0
        box.focus()

    def _chosen(self) -> str | None:
        box = self.query_one("#attachments", OptionList)
        if box.highlighted is None:
            return None
        option = box.get_option_at_index(box.highlighted)
        return None if option.disabled else option.id

    @on(OptionList.OptionSelected, "#attachments")
    def _selected(self, _event: OptionList.OptionSelected) -> None:
        self.action_preview()

    def action_preview(self) -> None:
        """Show the highlighted image, made in memory from its decrypted bytes."""
        att_id = self._chosen()
        if att_id is None:
            return
        if self.app.no_color:
            self.app.notify(
                _("This terminal shows no colour (NO_COLOR): press o for a decrypted copy instead"),
                severity="warning",
            )
            return
        columns, lines = preview_size(self.app.size.width, self.app.size.height)
        self._make_preview(att_id, columns, lines)

    @work(thread=True, exclusive=True, group="preview")
    @guarded
    def _make_preview(self, att_id: str, columns: int, lines: int) -> None:
        store = cast("FieldkitApp", self.app).store
        if store is None:
            return
        self.post_message(
            self.PreviewReady(attachments.preview(store, self.case_id, att_id, columns, lines))
        )

    @on(PreviewReady)
    def _show_preview(self, event: PreviewReady) -> None:
        colours = self.app.console.color_system in ("truecolor", "256")
        self.app.push_screen(PreviewScreen(event.shown, colours))

    class CopyReady(Message):
        """A decrypted copy was written to a private folder; `close` removes it."""

        def __init__(self, path: str, close: Any) -> None:
            super().__init__()
            self.path = path
            self.close = close

    def action_open_copy(self) -> None:
        """Decrypt the highlighted file into a private folder and hand it to the viewer."""
        att_id = self._chosen()
        if att_id is not None:
            self._make_copy(att_id)

    @work(thread=True, exclusive=True, group="preview")
    @guarded
    def _make_copy(self, att_id: str) -> None:
        store = cast("FieldkitApp", self.app).store
        if store is None:
            return
        stack = contextlib.ExitStack()
        try:
            path = stack.enter_context(opened_copy(store, self.case_id, att_id))
        except FieldkitError as exc:
            stack.close()
            self.post_message(WorkFailed(one_line(exc)))
            return
        self._copies.append(stack.close)
        if self._gone:  # left (or locked) while it was written: remove it now
            stack.close()
            return
        self.post_message(self.CopyReady(str(path), stack.close))

    def on_unmount(self) -> None:
        """Locking, quitting or leaving removes every copy still open from this list."""
        self._gone = True
        for close in self._copies:
            close()

    @on(CopyReady)
    def _copy_ready(self, event: CopyReady) -> None:
        self.app.push_screen(OpenedCopy(event.path, event.close))
        _hand_to_viewer(event.path)

    def action_back(self) -> None:
        """Back to the case."""
        self.app.pop_screen()


def _hand_to_viewer(path: str) -> None:
    """The desktop's viewer, if there is one (it reads the copy while it exists)."""
    opener = shutil.which("xdg-open") or shutil.which("open")
    if opener:
        with contextlib.suppress(OSError):
            subprocess.Popen(  # noqa: S603
                [opener, path],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
