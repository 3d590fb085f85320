"""Validate data files with pydantic and build the knowledge base.

Only imported when the start-up cache is stale or by `triage kb check`;
every problem is collected and raised together, naming file and field.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import regex
from pydantic import ValidationError

from .errors import DataError, DataErrors
from .gatesets import GATE_SETS_FILE, SET_FIELDS, expand, parse_gate_sets, references
from .load import REGEX_FLAGS, Affected, Entry, KnowledgeBase, Marker, Product, Signature, Variant, layout
from .model import Remedy
from .placeholders import names as placeholder_names
from .rank import CONFIDENT
from .schema import GATES, AffectedSpec, EntrySpec, ProductSpec, RemedySpec, SignatureFile, SignatureSpec

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

__all__ = ["compile_regex", "keyword_forms", "split_front_matter", "validate_dirs"]


def keyword_forms(keyword: str) -> tuple[bytes, ...]:
    """The byte strings the prefilter looks for to find `keyword` in any case. It scans the log ASCII-lowercased
    (`bytes.lower()`, at memory speed), so an ASCII keyword is caseless as it is; other cased letters (Cyrillic,
    Greek, accented Latin) are compared byte for byte, so such a keyword is also looked for lower-cased,
    capitalised and in capitals: `не удается` then finds the sentence's `Не удается` and a dialog's `НЕ УДАЕТСЯ`."""
    if keyword.isascii():
        return (keyword.encode("utf-8").lower(),)
    low = keyword.lower()
    forms = (keyword, low, low[:1].upper() + low[1:], keyword.upper())
    return tuple(dict.fromkeys(form.encode("utf-8").lower() for form in forms))


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


def _pydantic_errors(path: str, exc: ValidationError) -> list[DataError]:
    errors = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p in {"RemedySpec", "str"}))
        where = _loc(loc)
        value = err.get("input")
        shown = f" (got {value!r})" if err["type"] not in {"missing"} and not isinstance(value, dict) else ""
        errors.append(DataError(path, where, f"{err['msg']}{shown}"))
    return errors


def compile_regex(pattern: str, path: str, where: str, errors: list[DataError], expanded: bool = False) -> regex.Pattern[str] | None:
    """`expanded`: the pattern had named sets put in, so the message says the position is in the expanded text."""
    try:
        return regex.compile(pattern, REGEX_FLAGS)
    except regex.error as exc:
        pos = getattr(exc, "pos", None)
        msg = str(exc.msg) if hasattr(exc, "msg") else str(exc)
        if pos is not None:
            after = " (of the pattern with its named sets expanded)" if expanded else ""
            msg = f"{msg} at position {pos}{after}\n    {pattern}\n    {' ' * pos}^"
        errors.append(DataError(path, where, msg))
        return None


def _remedies(items: list[RemedySpec | str]) -> tuple[Remedy, ...]:
    out = []
    for item in items:
        if isinstance(item, str):
            out.append(Remedy(item))
        else:
            out.append(Remedy(item.text, tuple(item.products), tuple(item.os), item.update))
    return tuple(out)


def _affected(spec: AffectedSpec) -> Affected:
    return Affected(product=spec.product, versions=spec.versions, fixed_in=spec.fixed_in, note=spec.note)


def _load_signature_file(path: Path, errors: list[DataError], gate_sets: dict[str, str] | None = None) -> list[Signature]:
    shown = _display(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        errors.append(DataError(shown, "", f"cannot read: {exc}"))
        return []
    except tomllib.TOMLDecodeError as exc:
        errors.append(DataError(shown, "", f"invalid TOML: {exc}"))
        return []
    try:
        spec = SignatureFile.model_validate(raw)
    except ValidationError as exc:
        errors.extend(_pydantic_errors(shown, exc))
        return []
    out = []
    for i, sig in enumerate(spec.signature):
        out.append(_compile_signature(sig, i, path.stem, shown, errors, gate_sets or {}))
    return [s for s in out if s is not None]


def _compile_signature(
    sig: SignatureSpec, index: int, default_kb: str, shown: str, errors: list[DataError], gate_sets: dict[str, str] | None = None
) -> Signature | None:
    before = len(errors)
    where = f"signature[{index}]"
    sets = gate_sets or {}

    def many(fieldname: str, patterns: list[str]) -> tuple[str, ...]:
        """The patterns with named sets expanded (gates and vetoes, not the anchor regex), each compiled once to
        report errors."""
        out = []
        for j, pattern in enumerate(patterns):
            at = f"{where}.{fieldname}[{j}]"
            expanded = pattern
            if fieldname not in SET_FIELDS:
                if references(pattern):
                    errors.append(DataError(shown, at, "named sets (\\L<name>) are for gates and vetoes (near, anywhere, "
                                                       "unless*), not the anchor regex: write out what the line is"))
                    continue
            else:
                expanded, problems = expand(pattern, sets)
                errors.extend(DataError(shown, at, p) for p in problems)
                if problems:
                    continue
            compile_regex(expanded, shown, at, errors, expanded=expanded != pattern)
            out.append(expanded)
        return tuple(out)

    regexes = many("regex", sig.regex)
    for j, pattern in enumerate(sig.regex):
        if pattern.lstrip("(?x)").startswith(".*"):
            errors.append(DataError(shown, f"{where}.regex[{j}]", "must not start with '.*' (anchor on stable text)"))
    if sig.prefilter and not sig.keywords:
        errors.append(
            DataError(shown, f"{where}.keywords", "required (or set prefilter = false to run on every line, slowly)")
        )
    compiled = Signature(
        id=sig.id,
        kb_id=sig.kb or default_kb,
        variant=sig.variant,
        description=sig.description,
        keywords=tuple(form for kw in sig.keywords for form in keyword_forms(kw)) if sig.prefilter else (),
        regexes_src=regexes,
        unless_src=many("unless", sig.unless),
        near_src=many("near", sig.near),
        unless_near_src=many("unless_near", sig.unless_near),
        anywhere_src=many("anywhere", sig.anywhere),
        unless_anywhere_src=many("unless_anywhere", sig.unless_anywhere),
        window=sig.window,
        context=sig.context,
        weight=sig.weight,
        generic=sig.generic,
        products=tuple(sig.products),
        emitters=tuple((e.project, e.file, e.format, e.commit or "") for e in sig.emitter),
        few_fixtures=sig.few_fixtures,
        **_ungated_fields(sig, where, shown, errors, many),
        examples_match=tuple(sig.examples.match),
        examples_match_ungated=tuple(sig.examples.match_ungated),
        examples_no_match=tuple(sig.examples.no_match),
        path=shown,
        index=index,
    )
    return compiled if len(errors) == before else None


def _ungated_fields(sig: SignatureSpec, where: str, shown: str, errors: list[DataError], many: Any) -> dict[str, Any]:
    """The Signature fields of the `ungated` reading, after the checks the schema cannot make alone: a gate to
    waive, a weight below the signature's, examples exactly when the reading exists."""
    reading = sig.ungated
    if reading is None:
        if sig.examples.match_ungated:
            errors.append(DataError(shown, f"{where}.examples.match_ungated", "there is no [signature.ungated] reading to match"))
        return {"ungated_weight": None, "ungated_waive": (), "ungated_unless_near_src": (), "ungated_unless_anywhere_src": ()}
    has = [g for g in GATES if getattr(sig, g)]
    if not has:
        errors.append(DataError(shown, f"{where}.ungated", "the signature has no positive gate (near or anywhere) to do without"))
    for j, gate in enumerate(reading.waive):
        if gate not in has:
            errors.append(DataError(shown, f"{where}.ungated.waive[{j}]", f"the signature has no {gate!r} gate to waive"))
    if reading.weight >= sig.weight:
        errors.append(DataError(shown, f"{where}.ungated.weight", f"{reading.weight} must be below the signature's weight {sig.weight}"))
    elif reading.weight >= CONFIDENT:
        # The reading holds when the paste does not name the program: it can say "possibly", never "it is".
        errors.append(DataError(shown, f"{where}.ungated.weight", f"{reading.weight} would answer confidently; an ungated "
                                f"reading is a 'possible' answer, below {CONFIDENT}"))
    if not sig.examples.match_ungated:
        errors.append(DataError(shown, f"{where}.examples.match_ungated", "the ungated reading needs at least one example it accepts"))
    return {
        "ungated_weight": reading.weight,
        "ungated_waive": tuple(reading.waive) or tuple(has),
        "ungated_unless_near_src": many("ungated.unless_near", reading.unless_near),
        "ungated_unless_anywhere_src": many("ungated.unless_anywhere", reading.unless_anywhere),
    }


def split_front_matter(text: str) -> tuple[str, str] | None:
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "+++":
        return None
    for i in range(1, len(lines)):
        if lines[i].strip() == "+++":
            return "".join(lines[1:i]), "".join(lines[i + 1 :])
    return None


def _load_entry(path: Path, errors: list[DataError]) -> Entry | None:
    shown = _display(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        errors.append(DataError(shown, "", f"cannot read: {exc}"))
        return None
    parts = split_front_matter(text)
    if parts is None:
        errors.append(DataError(shown, "front matter", "must start with a '+++' line and close with another '+++'"))
        return None
    try:
        raw = tomllib.loads(parts[0])
    except tomllib.TOMLDecodeError as exc:
        errors.append(DataError(shown, "front matter", f"invalid TOML: {exc}"))
        return None
    try:
        spec = EntrySpec.model_validate(raw)
    except ValidationError as exc:
        errors.extend(_pydantic_errors(shown, exc))
        return None
    if spec.id != path.stem:
        errors.append(DataError(shown, "id", f"{spec.id!r} does not match the file name {path.stem!r}"))
    variants = tuple(
        Variant(
            id=v.id,
            title=v.title,
            signatures=(),  # filled from the signatures' own `variant` once they are loaded
            cause=v.cause,
            remedies=_remedies(v.remedies),
            affected=tuple(_affected(a) for a in v.affected) if v.affected is not None else None,
        )
        for v in spec.variant
    )
    return Entry(
        id=spec.id,
        title=spec.title,
        summary=spec.summary,
        root_cause=spec.root_cause,
        kind=spec.kind,
        labels=tuple(spec.labels),
        references=tuple(spec.references),
        affected=tuple(_affected(a) for a in spec.affected),
        remedies=_remedies(spec.remedies),
        variants=variants,
        confirm=spec.confirm,
        body=parts[1].strip(),
        path=shown,
    )


def _read_toml(path: Path, errors: list[DataError]) -> dict[str, Any] | None:
    shown = _display(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        errors.append(DataError(shown, "", f"cannot read: {exc}"))
    except tomllib.TOMLDecodeError as exc:
        errors.append(DataError(shown, "", f"invalid TOML: {exc}"))
    return None


_VERSION_GROUPS = ("version", "build")


def _load_product(path: Path, errors: list[DataError]) -> Product | None:
    shown = _display(path)
    raw = _read_toml(path, errors)
    if raw is None:
        return None
    try:
        spec = ProductSpec.model_validate(raw)
    except ValidationError as exc:
        errors.extend(_pydantic_errors(shown, exc))
        return None
    before = len(errors)
    markers: list[Marker] = []
    for field, items, is_version in (("marker", spec.marker, False), ("version", spec.version, True)):
        for i, m in enumerate(items):
            pattern = compile_regex(m.regex, shown, f"{field}[{i}].regex", errors)
            if pattern is None:
                continue
            if is_version and not any(g.startswith(_VERSION_GROUPS) for g in pattern.groupindex):
                errors.append(DataError(shown, f"{field}[{i}].regex", "a version pattern needs a group named version... or build..."))
            markers.append(Marker(tuple(form for k in m.keywords for form in keyword_forms(k)), m.regex, m.weight, m.raw, is_version))
    if not spec.hidden and spec.logs is None:
        errors.append(DataError(shown, "logs.followup", "a runtime needs its follow-up text (where its logs are, how to get a verbose one)"))
    if len(errors) != before:
        return None
    return Product(
        id=path.stem,
        name=spec.name,
        priority=spec.priority,
        order=spec.order,
        version_scheme=spec.version_scheme,
        hidden=spec.hidden,
        suppresses=tuple(spec.suppresses),
        context_per_slot=spec.context_per_slot,
        markers=tuple(markers),
        settings=dict(spec.settings),
        followup=spec.logs.followup if spec.logs else "",
        bundles=tuple((b.versions, b.llama_cpp, b.source) for b in spec.bundles),
        homepage=spec.homepage,
        path=shown,
    )


def _load_table(path: Path, errors: list[DataError]) -> dict[str, str] | None:
    """tables/<name>.toml: a description, https sources and a flat [values] table of strings."""
    shown = _display(path)
    raw = _read_toml(path, errors)
    if raw is None:
        return None
    before = len(errors)
    if not isinstance(raw.get("description"), str) or not raw["description"].strip():
        errors.append(DataError(shown, "description", "a table needs a one-line description"))
    sources = raw.get("sources")
    if not isinstance(sources, list) or not sources or not all(isinstance(x, str) and x.startswith("https://") for x in sources):
        errors.append(DataError(shown, "sources", "a table needs a list of https:// sources for its facts"))
    values = raw.get("values")
    if not isinstance(values, dict) or not values or not all(isinstance(v, str) and v.strip() for v in values.values()):
        errors.append(DataError(shown, "values", "a table needs a [values] table of non-empty strings"))
    unknown = sorted(set(raw) - {"description", "sources", "values"})
    if unknown:
        errors.append(DataError(shown, unknown[0], "unknown field (a table has description, sources and values)"))
    return None if len(errors) != before else {str(k).lower(): v for k, v in values.items()}  # type: ignore[union-attr]


def validate_dirs(dirs: list[Path]) -> KnowledgeBase:
    errors: list[DataError] = []
    signatures: dict[str, Signature] = {}
    entries: dict[str, Entry] = {}
    products: dict[str, Product] = {}
    tables: dict[str, dict[str, str]] = {}
    gate_sets: dict[str, str] = {}  # named alternations: a directory's sets serve its own and later signatures
    followup_default = ""
    for directory in dirs:
        if not directory.is_dir():
            errors.append(DataError(str(directory), "", "is not a directory"))
            continue
        lay = layout(directory)
        sig_dir, kb_dir = lay.signatures, lay.kb
        for path in sorted(lay.products.glob("*.toml")) if lay.products.is_dir() else []:
            if path.name.startswith(".") or path.name.upper() == "README.TOML":
                continue
            product = _load_product(path, errors)
            if product is not None:
                products[product.id] = product
        for path in sorted(lay.tables.glob("*.toml")) if lay.tables.is_dir() else []:
            if path.name == GATE_SETS_FILE:  # named gate alternations, not a lookup table: see gatesets.py
                raw_sets = _read_toml(path, errors)
                if raw_sets is not None:
                    gate_sets.update(parse_gate_sets(raw_sets, _display(path), errors, gate_sets))
                continue
            table = _load_table(path, errors)
            if table is not None:
                tables[path.stem] = table
        replaced_kbs: set[str] = set()
        for path in sorted(kb_dir.glob("*.md")) if kb_dir.is_dir() else []:
            if path.name.startswith(("_", ".")) or path.name.upper() == "README.MD":
                continue
            entry = _load_entry(path, errors)
            if entry is not None:
                entries[entry.id] = entry
                replaced_kbs.add(entry.id)
        fpath = kb_dir / "_followup.toml"
        if fpath.is_file():
            raw = _read_toml(fpath, errors)
            text = (raw or {}).get("default", {}).get("text") if isinstance((raw or {}).get("default"), dict) else None
            if raw is not None and not isinstance(text, str):
                errors.append(DataError(_display(fpath), "default.text", "the follow-up file needs [default] text = \"...\""))
            elif text:
                followup_default = text
        new_sigs: list[Signature] = []
        for path in sorted(sig_dir.glob("*.toml")) if sig_dir.is_dir() else []:
            if path.name.startswith(("_", ".")):
                continue
            new_sigs.extend(_load_signature_file(path, errors, gate_sets))
        # A --kb-dir entry with a built-in id replaces it, signatures included,
        # unless that directory brings no signatures of its own for the id.
        for kb_id in replaced_kbs:
            if any(s.kb_id == kb_id for s in new_sigs):
                for sid in [sid for sid, s in signatures.items() if s.kb_id == kb_id]:
                    del signatures[sid]
        in_this_dir: dict[str, Signature] = {}
        for sig in new_sigs:
            if sig.id in in_this_dir:
                first = in_this_dir[sig.id]
                errors.append(DataError(sig.path, f"signature[{sig.index}].id", f"{sig.id!r} is already used in {first.path}"))
            in_this_dir[sig.id] = sig
            signatures[sig.id] = sig
    _link_variants(signatures, entries, errors)
    _cross_check(signatures, entries, errors)
    _check_products(products, signatures, entries, errors)
    if errors:
        raise DataErrors(errors)
    return KnowledgeBase(
        signatures=tuple(signatures.values()),
        entries=entries,
        products=products,
        tables=tables,
        followup_default=followup_default,
    )


def _link_variants(signatures: dict[str, Signature], entries: dict[str, Entry], errors: list[DataError]) -> None:
    """A variant's signatures are those that name it (`variant = "..."` on the signature): the link is kept on one
    side only, so the two can never disagree. A variant no signature names could never be chosen."""
    for kb_id, entry in list(entries.items()):
        if not entry.variants:
            continue
        linked = []
        for vi, variant in enumerate(entry.variants):
            ids = tuple(s.id for s in signatures.values() if s.kb_id == kb_id and s.variant == variant.id)
            if not ids:
                errors.append(DataError(entry.path, f"variant[{vi}]", f"no signature names variant {variant.id!r} (add variant = \"{variant.id}\" to one)"))
            linked.append(variant._replace(signatures=ids))
        entries[kb_id] = entry._replace(variants=tuple(linked))


def _check_products(
    products: dict[str, Product], signatures: dict[str, Signature], entries: dict[str, Entry], errors: list[DataError]
) -> None:
    """Every runtime id the data names must have a products/<id>.toml."""
    if not products:
        return  # a --kb-dir-only load without products: nothing to check against
    known = set(products)

    def check(path: str, where: str, ids: tuple[str, ...] | list[str]) -> None:
        for pid in ids:
            if pid not in known:
                errors.append(DataError(path, where, f"unknown runtime {pid!r} (no products/{pid}.toml)"))

    for sig in signatures.values():
        check(sig.path, f"signature[{sig.index}].products", sig.products)
    for entry in entries.values():
        for i, r in enumerate(entry.remedies):
            check(entry.path, f"remedies[{i}].products", r.products)
        for i, a in enumerate(entry.affected):
            check(entry.path, f"affected[{i}].product", (a.product,))
        for vi, v in enumerate(entry.variants):
            for i, r in enumerate(v.remedies):
                check(entry.path, f"variant[{vi}].remedies[{i}].products", r.products)
            for i, a in enumerate(v.affected or ()):
                check(entry.path, f"variant[{vi}].affected[{i}].product", (a.product,))
    for product in products.values():
        check(product.path, "suppresses", product.suppresses)


def _cross_check(signatures: dict[str, Signature], entries: dict[str, Entry], errors: list[DataError]) -> None:
    from .compute import COMPUTED_NAMES
    from .facts import FACT_NAMES

    by_kb: dict[str, list[Signature]] = {}
    for sig in signatures.values():
        by_kb.setdefault(sig.kb_id, []).append(sig)
        if sig.kb_id not in entries:
            errors.append(DataError(sig.path, f"signature[{sig.index}].kb", f"no KB entry {sig.kb_id!r} (kb/{sig.kb_id}.md)"))
        elif sig.variant and sig.variant not in {v.id for v in entries[sig.kb_id].variants}:
            errors.append(DataError(sig.path, f"signature[{sig.index}].variant", f"entry {sig.kb_id!r} has no variant {sig.variant!r}"))
    for entry in entries.values():
        sigs = by_kb.get(entry.id, [])
        if not sigs:
            errors.append(DataError(entry.path, "id", f"no signature points at {entry.id!r}"))
        known = set(FACT_NAMES) | set(COMPUTED_NAMES) | {"fixed_in", "title", "kb_id", "affected_versions"}
        for sig in sigs:
            known |= sig.group_names
        sig_ids = {s.id for s in sigs}
        texts: list[tuple[str, str]] = [("title", entry.title), ("root_cause", entry.root_cause), ("summary", entry.summary), ("confirm", entry.confirm)]
        texts += [(f"remedies[{i}]", r.text) for i, r in enumerate(entry.remedies)]
        for vi, variant in enumerate(entry.variants):
            texts.append((f"variant[{vi}].cause", variant.cause))
            if variant.title:
                texts.append((f"variant[{vi}].title", variant.title))
            texts += [(f"variant[{vi}].remedies[{i}]", r.text) for i, r in enumerate(variant.remedies)]
        for where, text in texts:
            for name, _ in placeholder_names(text):
                if name not in known:
                    errors.append(
                        DataError(entry.path, where, f"placeholder {{{{{name}}}}} has no source (not a regex group, fact or computed value)")
                    )
        for where, text in (("root_cause", entry.root_cause), ("summary", entry.summary)):
            for name, has_fallback in placeholder_names(text):
                if not has_fallback:
                    errors.append(DataError(entry.path, where, f"placeholder {{{{{name}}}}} needs a fallback: {{{{{name}|...}}}}"))
