"""Policy profiles shipped with fieldkit: one TOML file per jurisdiction's practice standard."""
