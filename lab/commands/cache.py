"""``lab cache``: what the results cache holds, and dropping what old code computed.

``lab cache info``
    Entries, size and how many were computed by the current code, per experiment.
``lab cache prune``
    Delete the entries of older code versions: those whose recorded project version (the hash of
    every module of ``lab``, ``problems`` and ``bounds`` when they were computed) is not today's,
    and leftover temporary files.  Current entries are kept, so nothing needs recomputing.
    ``--dry-run`` lists what would go.

The cache is ``$LAB_CACHE_DIR`` or ``.lab-cache/`` (``--cache-dir`` overrides both).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lab.cache import Cache, default_cache_dir
from lab.sweeps import project_version


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "cache",
        help="cache size and entries (info); drop entries of old code versions (prune)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("action", choices=("info", "prune"), help="info: sizes, counts; prune: drop stale")
    parser.add_argument(
        "--cache-dir", type=Path, default=None, help="cache directory (default $LAB_CACHE_DIR)"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="prune: list what would be deleted, delete nothing"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(func=run)


def _entries(root: Path):
    """(experiment, key, meta path, bytes, project version or None) of every committed entry."""
    for meta_path in sorted(root.glob("*/*.json")):
        data_path = meta_path.with_suffix(".npz")
        size = meta_path.stat().st_size + (data_path.stat().st_size if data_path.exists() else 0)
        try:
            meta = json.loads(meta_path.read_text())
            version = meta.get("extra", {}).get("provenance", {}).get("project_version")
        except (ValueError, OSError, AttributeError):
            version = None
        yield meta_path.parent.name, meta_path.stem, size, version


def _human(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover


def run(args: argparse.Namespace) -> int:
    root = (args.cache_dir or default_cache_dir()).expanduser()
    if not root.exists():
        print(f"lab cache: no cache directory at {root}", file=sys.stderr)
        return 2
    if not root.is_dir():
        print(f"lab cache: --cache-dir {root} is not a directory", file=sys.stderr)
        return 2
    current = project_version()
    entries = list(_entries(root))
    stale = [e for e in entries if e[3] != current]
    temporary = sorted(p for p in root.glob("*/*") if p.is_file() and p.suffix == ".tmp")
    if args.action == "prune":
        if not args.dry_run:
            store = Cache(root)
            for name, key, _, _ in stale:
                store.discard(name, key)
            for p in temporary:
                p.unlink(missing_ok=True)
        freed = sum(e[2] for e in stale) + sum(p.stat().st_size for p in temporary if p.exists())
        summary = {
            "cache_dir": str(root), "project_version": current, "dry_run": args.dry_run,
            "removed_entries": len(stale), "removed_temporary_files": len(temporary), "freed_bytes": freed,
            "kept_entries": len(entries) - len(stale),
        }
        if args.json:
            print(json.dumps(summary, indent=1))
        else:
            verb = "would remove" if args.dry_run else "removed"
            print(f"{verb} {len(stale)} entries of old code versions and {len(temporary)} temporary files "
                  f"({_human(freed)}); kept {summary['kept_entries']} current entries in {root}")
        return 0
    per = {}
    for name, _, size, version in entries:
        row = per.setdefault(name, {"entries": 0, "bytes": 0, "current": 0})
        row["entries"] += 1
        row["bytes"] += size
        row["current"] += version == current
    total = {
        "entries": len(entries), "bytes": sum(e[2] for e in entries), "current": len(entries) - len(stale)
    }
    if args.json:
        print(json.dumps({"cache_dir": str(root), "project_version": current, "experiments": per,
                          "total": total, "temporary_files": len(temporary)}, indent=1))
        return 0
    print(f"cache {root} (project version {current})")
    width = max([len(n) for n in per] + [10])
    print(f"{'experiment':<{width}}  {'entries':>7}  {'current':>7}  {'size':>10}")
    for name, row in sorted(per.items()):
        print(f"{name:<{width}}  {row['entries']:>7}  {row['current']:>7}  {_human(row['bytes']):>10}")
    print(f"{'total':<{width}}  {total['entries']:>7}  {total['current']:>7}  {_human(total['bytes']):>10}")
    if total["entries"] > total["current"]:
        old = total["entries"] - total["current"]
        print(f"{old} entries come from older code: `lab cache prune` drops them")
    return 0
