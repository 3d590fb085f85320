"""Adapters that put triage where people ask for help: Discord and GitHub.

They import `triage`; `triage` never imports them (the CLI stays light).
"""
