"""`python -m songkhoe` runs the `songkhoe` command."""

from songkhoe.cli import main

main()
