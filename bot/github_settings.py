"""The Action's settings, read once from the Actions environment and validated together.

Kept apart from the entry point so a wrong input fails before any network call, with a message
that names the input (the only kind of failure that fails the step).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from .github_plan import Config

__all__ = ["DEFAULT_ATTACHMENT_HOSTS", "ConfigError", "Settings", "load_settings"]

DEFAULT_ATTACHMENT_HOSTS: tuple[str, ...] = (
    "github.com",  # user-attachments/files and <owner>/<repo>/files links
    "gist.githubusercontent.com",  # raw gists
    "objects.githubusercontent.com",  # where attachment links redirect
    "github-production-user-asset-6210df.s3.amazonaws.com",
    "github-production-repository-file-5c1aeb.s3.amazonaws.com",
)


class ConfigError(Exception):
    """A problem the workflow's author must fix; the only kind of failure that fails the step."""


@dataclass(frozen=True, slots=True)
class Settings:
    event_name: str
    event_path: Path
    repo: str
    api_url: str
    token: str = field(repr=False)
    config: Config
    kb_dirs: tuple[Path, ...] = ()
    attachment_hosts: tuple[str, ...] = DEFAULT_ATTACHMENT_HOSTS
    dry_run: bool = False
    backoff_base: float = 1.0
    output_path: Path | None = None
    summary_path: Path | None = None


def _input(env: Mapping[str, str], name: str) -> str:
    """An action input as Actions (INPUT_LABEL-PREFIX) or a shell (INPUT_LABEL_PREFIX) would pass it."""
    upper = name.upper()
    for key in (f"INPUT_{upper}", f"INPUT_{upper.replace('-', '_')}"):
        value = env.get(key)
        if value is not None and value.strip():
            return value.strip()
    return ""


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = _input(env, name).lower()
    if not raw:
        return default
    if raw in ("true", "yes", "on", "1"):
        return True
    if raw in ("false", "no", "off", "0"):
        return False
    raise ConfigError(f"input {name!r} must be true or false, not {raw!r}")


def load_settings(env: Mapping[str, str], *, dry_run: bool = False) -> Settings:
    """Everything from the environment, validated at once; raises ConfigError naming the input."""
    event_name = env.get("GITHUB_EVENT_NAME", "").strip()
    event_path = env.get("GITHUB_EVENT_PATH", "").strip()
    repo = env.get("GITHUB_REPOSITORY", "").strip()
    if not event_name or not event_path:
        raise ConfigError("GITHUB_EVENT_NAME and GITHUB_EVENT_PATH must be set (Actions sets them; by hand, point them at a saved event)")
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", repo):
        raise ConfigError(f"GITHUB_REPOSITORY must be owner/name, not {repo!r}")
    dry_run = dry_run or _bool(env, "dry-run", False)
    token = env.get("GITHUB_TOKEN", "").strip() or _input(env, "github-token")
    if not token and not dry_run:
        raise ConfigError("no token: set the github-token input (default: the workflow token) or GITHUB_TOKEN")
    prefix = _input(env, "label-prefix") or "triage:"
    if "," in prefix or len(prefix) > 30:
        raise ConfigError(f"input 'label-prefix' must be at most 30 characters without commas, not {prefix!r}")
    raw_conf = _input(env, "min-confidence")
    min_conf: float | None = None
    if raw_conf:
        try:
            min_conf = float(raw_conf)
        except ValueError:
            min_conf = -1.0
        if not 0.0 <= min_conf <= 1.0:
            raise ConfigError(f"input 'min-confidence' must be a number from 0 to 1, not {raw_conf!r}")
    miss = _input(env, "comment-on-miss").lower() or "false"
    miss_modes = {"false": "off", "off": "off", "no": "off", "0": "off", "true": "logs", "on": "logs", "yes": "logs", "1": "logs", "logs": "logs", "always": "always"}
    if miss not in miss_modes:
        raise ConfigError(f"input 'comment-on-miss' must be false, true (when the issue holds log lines) or always, not {miss!r}")
    kb_url = _input(env, "kb-url")
    if kb_url and not re.fullmatch(r"https?://[^\s()<>\[\]`\\\"']+", kb_url):
        raise ConfigError(f"input 'kb-url' must be an http(s) URL without spaces or brackets, not {kb_url!r}")
    duplicate_label = _input(env, "duplicate-label")
    if "," in duplicate_label or len(duplicate_label) > 50:
        raise ConfigError(f"input 'duplicate-label' must be a label name of at most 50 characters without commas, not {duplicate_label!r}")
    config = Config(
        label_prefix=prefix,
        fact_labels=_bool(env, "fact-labels", True),
        comment=_bool(env, "comment", True),
        comment_on_miss=miss_modes[miss],  # type: ignore[arg-type]
        min_confidence=min_conf,
        bot_login=_input(env, "bot-login") or None,
        kb_url=kb_url or None,
        duplicate_label=duplicate_label or None,
    )
    workspace = Path(env.get("GITHUB_WORKSPACE") or ".")
    kb_dirs: list[Path] = []
    for part in re.split(r"[,\n]", _input(env, "kb-path")):
        if part.strip():
            path = Path(part.strip())
            path = path if path.is_absolute() else workspace / path
            if not path.is_dir():
                raise ConfigError(f"input 'kb-path': {part.strip()!r} is not a directory (relative paths start at the repository root)")
            kb_dirs.append(path)
    hosts_raw = _input(env, "attachment-hosts") or env.get("TRIAGE_ATTACHMENT_HOSTS", "").strip()
    hosts = DEFAULT_ATTACHMENT_HOSTS
    if hosts_raw.lower() in ("none", "off", "false"):
        hosts = ()
    elif hosts_raw:
        hosts = tuple(h.strip() for h in re.split(r"[,\s]+", hosts_raw) if h.strip())
    try:
        backoff = float(env.get("TRIAGE_BACKOFF_BASE", "") or 1.0)
    except ValueError:
        raise ConfigError(f"TRIAGE_BACKOFF_BASE must be a number of seconds, not {env['TRIAGE_BACKOFF_BASE']!r}") from None
    return Settings(
        event_name=event_name,
        event_path=Path(event_path),
        repo=repo,
        api_url=(env.get("GITHUB_API_URL") or "https://api.github.com").rstrip("/"),
        token=token,
        config=config,
        kb_dirs=tuple(kb_dirs),
        attachment_hosts=hosts,
        dry_run=dry_run,
        backoff_base=backoff,
        output_path=Path(env["GITHUB_OUTPUT"]) if env.get("GITHUB_OUTPUT") else None,
        summary_path=Path(env["GITHUB_STEP_SUMMARY"]) if env.get("GITHUB_STEP_SUMMARY") else None,
    )
