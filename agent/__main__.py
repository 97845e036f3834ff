"""`python -m agent start|dev|connect|console|download-files`: the LiveKit worker for production calls."""

from __future__ import annotations

import warnings


def main() -> None:
    from livekit.agents import cli

    from agent.worker import worker_options

    warnings.filterwarnings("ignore", message="the built-in Python CLI is deprecated", category=DeprecationWarning)
    cli.run_app(worker_options())


if __name__ == "__main__":
    main()
