"""`syncops records ...`: list, show, enqueue, act, edit."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from syncops.cli.context import open_context
from syncops.cli.errors import CliError
from syncops.cli.filters import record_filter
from syncops.cli.output import ago, clip, confirm, emit_json, table


def list_(args: argparse.Namespace) -> int:
    from syncops.store.queries import list_records

    ctx = open_context(args)
    f = record_filter(args)
    page = list_records(ctx.store, f, limit=args.limit, sort=args.sort, descending=not args.oldest_first)
    now = ctx.store.clock()
    if args.json:
        emit_json([dict(r._mapping) for r in page.rows])
        return 0
    table(["ID", "AGE", "TENANT", "FLOW", "KEY", "STATE", "CATEGORY", "TRIES", "LAST ERROR"],
          [(r.id, ago(r.created_at, now), r.tenant, r.flow, clip(r.entity_key, 28), r.state,
            r.error_category or "", r.attempts, clip(r.error_message, 60)) for r in page.rows])
    if page.next_after:
        print("(more: use --limit or narrower filters)", file=sys.stderr)
    return 0


def _masked(entity: str, payload, reveal: bool):
    from syncops.models import mask_pii

    if reveal or not isinstance(payload, dict):
        return payload
    try:
        return mask_pii(entity, payload)
    except ValueError:
        return payload


def show(args: argparse.Namespace) -> int:
    from syncops.services.actions import reveal_pii
    from syncops.services.actor import Actor
    from syncops.store.queries import record_detail

    ctx = open_context(args)
    d = record_detail(ctx.store, args.id)
    r = d.record
    if args.reveal:
        reveal_pii(ctx.store, r.id, actor=Actor.current(), reason="records show --reveal")
    from syncops.models.pii import mask_diff

    payload = _masked(r.entity, d.payload, args.reveal)
    source = d.source_payload if args.reveal else ("(masked: --reveal to show)" if d.source_payload else None)
    versions = [dict(v._mapping) for v in d.versions]
    if not args.reveal:  # earlier versions and their diffs hold the same customer data
        for v in versions:
            v["payload"] = _masked(r.entity, json.loads(v["payload"]), False)
            v["diff"] = mask_diff(v["diff"]) if v["diff"] else v["diff"]
    if args.json:
        emit_json({"record": {k: v for k, v in r._mapping.items() if k not in ("payload", "source_payload")},
                   "payload": payload, "source_payload": source,
                   "attempts": [dict(a._mapping) for a in d.attempts],
                   "versions": versions,
                   "audit": [dict(e._mapping) for e in d.audit]})
        return 0
    now = ctx.store.clock()
    print(f"record {r.id}  {r.tenant}/{r.flow}  {r.entity} {r.entity_key}")
    print(f"state {r.state}  version {r.version}  attempts {r.attempts}  created {ago(r.created_at, now)} ago"
          f"  payload rev {r.payload_rev}  target {r.target}{'  ref ' + r.target_ref if r.target_ref else ''}")
    if r.error_category:
        print(f"last error [{r.error_category}] {r.error_message}")
    if r.resolution:
        print(f"resolution: {r.resolution}")
    print("\npayload:" + ("" if args.reveal else " (customer data masked; --reveal to show, audited)"))
    print(json.dumps(payload, indent=2, sort_keys=True))
    if d.attempts:
        print("\nattempts (newest first):")
        table(["WHEN", "OUTCOME", "STATUS", "MS", "CATEGORY", "MESSAGE"],
              [(ago(a.at, now) + " ago", a.outcome, a.status or "", f"{a.duration_ms:.0f}" if a.duration_ms else "",
                a.error_category or "", clip(a.error_message, 60)) for a in d.attempts])
    if versions:
        print("\npayload versions:")
        for v in versions:
            print(f"  rev {v['rev']} by {v['author']} {ago(v['at'], now)} ago: {v['reason'] or ''}")
            if v["diff"]:
                print("    " + v["diff"].replace("\n", "\n    "))
    if d.audit:
        print("\naudit:")
        for e in d.audit:
            who = e.actor + (f"@{e.client}" if e.client else "")
            print(f"  {ago(e.at, now)} ago {who} ({e.via}) {e.action}" + (f": {e.reason}" if e.reason else ""))
    return 0


def enqueue(args: argparse.Namespace) -> int:
    from syncops.models.json_input import JsonInputError, json_lines, source_name
    from syncops.models.registry import PayloadInvalid, model_for, validate_payload
    from syncops.store.lifecycle import NewRecord
    from syncops.store.lifecycle import enqueue as do_enqueue

    ctx = open_context(args, settings_required=True, create=True)
    flow = ctx.flow(args.tenant, args.flow)
    if args.file != "-" and not Path(args.file).is_file():
        raise CliError(f"{args.file}: no such file")
    name = source_name(args.file)
    records, problems = [], []
    now = ctx.store.clock()
    # Validate the whole file before storing anything: a half-loaded backfill is worse than none.
    for n, data in json_lines(args.file):
        if isinstance(data, JsonInputError):
            problems.append(data.on_line(name, n))
            continue
        if not isinstance(data, dict):
            problems.append(f"{name}:{n}: expected a JSON object, got {type(data).__name__}")
            continue
        key_value = None
        if args.key_field:
            # A payload field (order_number) stays; an extra column of the feed is taken out.
            fields = model_for(flow.entity).model_fields
            key_value = data.get(args.key_field) if args.key_field in fields else data.pop(args.key_field, None)
        if args.key_field and key_value in (None, ""):
            problems.append(f"{name}:{n}: missing idempotency key field {args.key_field!r}")
            continue
        try:
            model = validate_payload(flow.entity, data)
        except PayloadInvalid as exc:
            problems.append(f"{name}:{n}: {exc}")
            continue
        payload = model.model_dump(mode="json")
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:32]
        records.append(NewRecord(
            tenant=args.tenant, flow=args.flow, entity=flow.entity, entity_key=model.entity_key(),
            idempotency_key=f"import:{key_value}" if key_value else f"import:{digest}", target=flow.target,
            payload=payload, source_ts=now, coalesce=flow.coalesce,
        ))
    if problems:
        for p in problems[:50]:
            print(p, file=sys.stderr)
        if len(problems) > 50:
            print(f"... and {len(problems) - 50} more", file=sys.stderr)
        raise CliError(f"{len(problems)} bad line(s) in {name}; nothing was enqueued")
    result = do_enqueue(ctx.store, records)
    if args.json:
        emit_json({"enqueued": len(result.inserted), "duplicates": result.duplicates,
                   "superseded": result.superseded})
    else:
        print(f"enqueued {len(result.inserted)} record(s) for {args.tenant}/{args.flow}; "
              f"{result.duplicates} duplicate(s) dropped; {result.superseded} older record(s) superseded")
    return 0


def _act(args: argparse.Namespace, action: str) -> int:
    from syncops.services import bulk
    from syncops.services.actions import act
    from syncops.services.actor import Actor

    ctx = open_context(args)
    actor = Actor.current()
    has_filters = any([args.tenant, args.flow, args.state, args.category, args.key, args.error,
                       args.older_than, args.error_map, args.error_value])
    if args.ids and not has_filters and not getattr(args, "canary", None):  # --canary: ids are a bulk group too
        from syncops.services.actions import check_transition, spec
        from syncops.store.queries import get_record

        # Check every id before acting on any: a typo in the third id must not leave the first two changed.
        rows = [get_record(ctx.store, rid) for rid in args.ids]
        for rid, row in zip(args.ids, rows):
            check_transition(row, rid, None, spec(action).from_states, action)
        ctx.require_writable(*(row.tenant for row in rows))
        results = []
        for rid in args.ids:
            row = act(ctx.store, action, rid, actor=actor, reason=args.reason)
            results.append({"id": rid, "state": row.state, "version": row.version})
            if not args.json:
                print(f"record {rid}: {row.state}")
        if args.json:
            emit_json(results)
        return 0
    if not has_filters and not args.ids:
        raise CliError(f"records {action} needs record ids or filters (see --help)", code=2)
    f = record_filter(args, args.ids)
    pv = bulk.preview(ctx.store, action, f)
    states = ", ".join(f"{n} {s}" for s, n in sorted(pv.by_state.items())) or "none"
    print(f"{action}: {pv.count} record(s) match ({pv.description}): {states}", file=sys.stderr)
    if pv.count == 0:
        if args.json:
            emit_json({"action": action, "touched": 0})
        return 0
    ctx.require_writable(*pv.tenants)
    question = f"{action} {pv.count} record(s)?"
    if action == "retry" and getattr(args, "canary", None):
        question = f"retry {min(args.canary, pv.count)} canary record(s) of {pv.count} first?"
    if not confirm(question, assume_yes=args.yes):
        print("nothing changed", file=sys.stderr)
        return 1
    if action == "retry" and getattr(args, "canary", None):
        from syncops.cli.canary import run_canary

        return run_canary(ctx, args, f, pv.count, actor)
    res = bulk.apply(ctx.store, action, f, actor=actor, confirmed_count=pv.count, reason=args.reason, ids=pv.ids)
    if args.json:
        emit_json({"action": action, "touched": res.touched, "arrived_later": res.arrived_later,
                   "changed_meanwhile": res.gone})
    else:
        print(f"{action}: {res.touched} record(s) done")
        if res.arrived_later:
            print(f"{action}: {res.arrived_later} matching record(s) arrived after the count: not touched; "
                  "run again to act on them", file=sys.stderr)
    return 0


def retry(args: argparse.Namespace) -> int:
    return _act(args, "retry")


def quarantine(args: argparse.Namespace) -> int:
    return _act(args, "quarantine")


def release(args: argparse.Namespace) -> int:
    return _act(args, "release")


def resolve(args: argparse.Namespace) -> int:
    return _act(args, "resolve")


def _run_editor(text: str) -> str:
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    # surrogateescape: on "edit again" a file with invalid UTF-8 comes back with its bytes as they were.
    with tempfile.NamedTemporaryFile("w+", suffix=".json", prefix="syncops-edit-", delete=False,
                                     encoding="utf-8", errors="surrogateescape") as fh:
        fh.write(text)
        path = fh.name
    try:
        os.chmod(path, 0o600)  # the payload may hold customer data
        rc = subprocess.call([*shlex.split(editor), path])
        if rc != 0:
            raise CliError(f"editor {editor!r} exited with {rc}; nothing was changed")
        from syncops.models.json_input import decode

        # Invalid UTF-8 is reported at its line by validate_edit, not a UnicodeDecodeError here.
        return decode(Path(path).read_bytes())
    finally:
        os.unlink(path)


def edit(args: argparse.Namespace) -> int:
    from syncops.services.actions import (ActionError, canonical_json, edit_payload, normalised, payload_diff,
                                          reveal_pii, validate_edit)
    from syncops.services.actor import Actor
    from syncops.store.queries import get_record

    ctx = open_context(args)
    row = get_record(ctx.store, args.id)
    ctx.require_writable(row.tenant)
    original = json.loads(row.payload)
    if args.file:
        from syncops.models.json_input import read_file

        text = read_file(args.file)  # strict: invalid UTF-8, nesting, huge numbers name file and line
        validate_edit(row.entity, text)  # raises with the problem; nothing changed
    else:
        if _masked(row.entity, original, False) != original:
            # Editing needs the real customer data on screen: that is a reveal, so audit it.
            reveal_pii(ctx.store, row.id, actor=Actor.current(), reason="records edit opened the payload in $EDITOR")
        text = canonical_json(original)
        while True:
            text = _run_editor(text)
            try:
                validate_edit(row.entity, text)
                break
            except ActionError as exc:
                print(f"syncops: {exc}", file=sys.stderr)
                if not sys.stdin.isatty() or not confirm("edit again?", assume_yes=False):
                    raise CliError("edit abandoned; nothing was changed") from None
    new_payload, _ = validate_edit(row.entity, text)
    baseline = normalised(row.entity, original)  # an untouched editor must not add defaults and retry
    if new_payload == baseline:
        print("payload unchanged; nothing to do")
        return 0
    diff = payload_diff(original, new_payload)
    if args.file and args.reveal:
        reveal_pii(ctx.store, row.id, actor=Actor.current(), reason="records edit --file --reveal")
    elif args.file:
        from syncops.models.pii import mask_diff

        diff = mask_diff(diff)  # as `records show`; the $EDITOR path already showed (and audited) it all
    print(diff)
    reason = args.reason
    if not reason:
        if not sys.stdin.isatty():
            raise CliError("--reason is required for an edit")
        reason = input("reason for this edit: ").strip()
    after = edit_payload(ctx.store, args.id, new_payload, actor=Actor.current(), reason=reason,
                         expected_version=row.version)
    print(f"record {args.id}: payload rev {after.payload_rev} saved; {after.state}, will be retried")
    return 0
