"""``mesovision patient add|edit|list|show|remove``: the patients of a store (``--store DIR``)."""

from __future__ import annotations

import argparse
import json

from .common import add_store_option, add_subparser, confirm_removal, printable

__all__ = ["add_parser", "run_add", "run_edit", "run_list", "run_remove", "run_show"]


def add_parser(sub) -> None:
    p = add_subparser(
        sub,
        "patient",
        "add, edit, list, show or remove the patients of a store",
        examples=(
            "mesovision patient add P001 --store clinic",
            "mesovision patient edit P001 --ipd-mm 63 --store clinic",
            "mesovision patient list --store clinic",
            "mesovision patient show P001 --store clinic",
        ),
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    a = add_subparser(
        actions,
        "add",
        "add a patient under a pseudonymous id",
        run_add,
        examples=(
            "mesovision patient add P001 --store clinic",
            "mesovision patient add P002 --name 'A. Martin' --birth-year 1978 --store clinic",
            "mesovision patient add P003 --ipd-mm 63 --store clinic",
        ),
    )
    a.add_argument("id", help="pseudonymous patient id (letters, digits, - _ .), e.g. P001")
    a.add_argument("--name", default=None, help="name (optional; stays in the store)")
    a.add_argument("--birth-year", type=int, default=None, metavar="Y", help="year of birth")
    a.add_argument("--ipd-mm", default=None, metavar="MM", help=IPD_HELP)
    add_store_option(a)
    ed = add_subparser(
        actions,
        "edit",
        "set or clear a patient's interpupillary distance (recorded in the log of changes)",
        run_edit,
        examples=(
            "mesovision patient edit P001 --ipd-mm 63 --store clinic",
            "mesovision patient edit P001 --ipd-mm '' --store clinic",
        ),
    )
    ed.add_argument("id", help="patient id")
    ed.add_argument("--ipd-mm", required=True, metavar="MM", help=IPD_HELP + "; '' clears it")
    add_store_option(ed)
    ls = add_subparser(
        actions,
        "list",
        "list the patients",
        run_list,
        examples=("mesovision patient list --store clinic", "mesovision patient list --json"),
    )
    ls.add_argument("--json", action="store_true", help="as JSON on stdout")
    add_store_option(ls)
    sh = add_subparser(
        actions,
        "show",
        "a patient's sessions, photos and capture checks",
        run_show,
        examples=("mesovision patient show P001 --store clinic",),
    )
    sh.add_argument("id", help="patient id")
    sh.add_argument("--json", action="store_true", help="as JSON on stdout")
    add_store_option(sh)
    rm = add_subparser(
        actions,
        "remove",
        "remove a patient with all sessions, photos, managed copies, cached analyses and their "
        "entries of the log of changes (one transaction; the log keeps the time and the counts, "
        "without the id); asks for the id first unless --yes (any other answer keeps the "
        "patient; no answer, or no terminal to ask, exits 2)",
        run_remove,
        examples=(
            "mesovision patient remove P001 --store clinic",
            "mesovision patient remove P001 --yes",
        ),
    )
    rm.add_argument("id", help="patient id")
    rm.add_argument("--yes", action="store_true", help="do not ask")
    add_store_option(rm)


#: What ``--ipd-mm`` does for a course.
IPD_HELP = (
    "the patient's interpupillary distance in mm (40-80, e.g. measured with a pupillometer): "
    "the scale of the front view's comparisons, so that progress and report give the swelling "
    "in mm too (as compare --ipd-mm)"
)


def _ipd(text: str, *, allow_empty: bool = False) -> float | None:
    """A ``--ipd-mm`` value: a plausible interpupillary distance
    (:func:`mesovision.scale.check_ipd_mm`), or with ``allow_empty`` ``""`` (clear it: None)."""
    from ..errors import UsageError
    from ..scale import check_ipd_mm

    if allow_empty and text.strip() == "":
        return None
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"--ipd-mm {text!r} is not a number of mm") from None
    check_ipd_mm(value, "--ipd-mm")
    return value


def _ipd_text(patient: dict) -> str:
    """``interpupillary distance 63 mm``, or ``""`` for a patient without one."""
    ipd = patient.get("ipd_mm")
    return "" if ipd is None else f"interpupillary distance {ipd:g} mm"


def run_add(args: argparse.Namespace) -> int:
    from ..store import open_store

    with open_store(args.store) as store:
        store.require_writable()
        ipd = None if args.ipd_mm is None else _ipd(args.ipd_mm)
        p = store.add_patient(args.id, name=args.name, birth_year=args.birth_year, ipd_mm=ipd)
    ipd = f" ({_ipd_text(p)})" if p["ipd_mm"] is not None else ""
    print(f"patient {p['id']}{ipd} added to {printable(store.directory)}")
    return 0


def run_edit(args: argparse.Namespace) -> int:
    from ..store import open_store

    with open_store(args.store, create=False) as store:
        store.require_writable()
        old = store.patient(args.id)
        p = store.set_patient_ipd(args.id, _ipd(args.ipd_mm, allow_empty=True))
    if p["ipd_mm"] == old["ipd_mm"]:
        now = _ipd_text(p) or "no interpupillary distance"
        print(f"patient {p['id']} unchanged ({now})")
    elif p["ipd_mm"] is None:
        print(f"patient {p['id']}: interpupillary distance cleared (was {old['ipd_mm']:g} mm)")
    else:
        print(
            f"patient {p['id']}: {_ipd_text(p)} (the scale of the front view's comparisons, "
            "computed again by the next progress, report or export)"
        )
    return 0


def run_list(args: argparse.Namespace) -> int:
    from ..store import open_store

    with open_store(args.store, upgrade="read") as store:
        rows = store.patients()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(f"no patients in {printable(store.directory)}")
        return 0
    print(f"{'id':<16} {'name':<24} {'born':>5} {'sessions':>8}")
    for r in rows:
        born = "" if r["birth_year"] is None else str(r["birth_year"])
        name = printable(r["name"] or "")
        print(f"{r['id']:<16} {name:<24} {born:>5} {r['n_sessions']:>8}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from ..store import open_store

    with open_store(args.store, upgrade="read") as store:
        patient = store.patient(args.id)
        sessions = store.sessions(args.id)
    if args.json:
        print(json.dumps({"patient": patient, "sessions": sessions}, indent=2))
        return 0
    born = f", born {patient['birth_year']}" if patient["birth_year"] else ""
    name = f" ({printable(patient['name'])}{born})" if patient["name"] else born
    ipd = f", {_ipd_text(patient)}" if patient["ipd_mm"] is not None else ""
    print(f"patient {patient['id']}{name}{ipd}: {len(sessions)} session(s)")
    for s in sessions:
        extra = "; ".join(
            x
            for x in (
                f"treated {','.join(s['treated'])}" if s["treated"] else "",
                f"product {printable(s['product'])}" if s["product"] else "",
                printable(s["notes"] or ""),
            )
            if x
        )
        print(f"  session {s['id']}  {printable(s['date'])}  {extra}")
        for ph in s["photos"]:
            problems = [c["name"] for c in ph["checks"] if not c["ok"]]
            state = f"problems: {', '.join(problems)}" if problems else "checks ok"
            if ph["uploaded"]:  # the file name the browser sent: no path on this machine
                where, kept = ph["file_name"], ["uploaded"]
            else:
                where, kept = ph["original_path"], []
            if ph.get("px_per_mm"):
                kept.append(f"{ph['px_per_mm']:g} px/mm")
            if ph["managed_path"]:
                kept.append("copy in store")
            copy = f" ({', '.join(kept)})" if kept else ""
            view, path = printable(ph["view"]), printable(where)
            print(f"    photo {ph['id']}  {view:<9} {path}{copy}  {state}")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    from ..store import open_store

    with open_store(args.store, create=False) as store:
        store.require_writable()
        store.patient(args.id)
        n = len(store.sessions(args.id))
        question = (
            f"remove patient {args.id} and {n} session(s) with their photos? "
            "type the id to confirm: "
        )
        if not confirm_removal(f"patient {args.id}", args.id, question, yes=args.yes):
            return 0
        counts = store.remove_patient(args.id)
        kept = store.pre_migration_copies(args.id)
    print(
        f"patient {args.id} removed: {counts['sessions']} session(s), {counts['photos']} "
        f"photo(s), {counts['analyses']} cached analysis(es), {counts['changes']} entry(ies) "
        "of the log of changes"
    )
    for db in kept:
        print(
            f"  still in {db.parent} (the database kept before a schema upgrade): delete that "
            "folder to erase the patient there too"
        )
    return 0
