"""`python -m console` runs the `permanence` command line."""

from console.cli import main

main()
