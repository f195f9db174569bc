"""The command line as a user runs it: real processes, real files, exit codes, stderr."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import SAMPLES, run_cli

from mesovision.demo import DEMO_TRUTH_NOTE


def run(*args, cwd=None):
    return run_cli(*args, cwd=cwd)


def _one_error_line(proc, *needles):
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("mesovision: error: ")
    assert "Traceback" not in proc.stderr
    for n in needles:
        assert n in lines[0], lines[0]


def test_version_answers_fast_without_heavy_imports():
    t = time.perf_counter()
    proc = run("--version")
    assert proc.returncode == 0 and proc.stdout.strip().startswith("mesovision 0.")
    assert time.perf_counter() - t < 5
    code = "import sys, mesovision.cli; print('mediapipe' in sys.modules, 'cv2' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert out.split() == ["False", "False"]


def test_help_lists_exit_codes():
    proc = run("--help")
    assert proc.returncode == 0
    for code in ("  2  ", "  3  ", "  4  ", "  5  ", "  9  ", "130  "):
        assert code in proc.stdout


@pytest.mark.slow
def test_align_writes_outputs_and_refuses_to_overwrite(tmp_path):
    before = SAMPLES / "grace_hopper" / "before.jpg"
    after = SAMPLES / "grace_hopper" / "after_no_change.jpg"
    out = tmp_path / "out"
    proc = run("align", str(before), str(after), "-o", str(out), "--lighting", "none", "--json")
    assert proc.returncode == 0, proc.stderr
    # stderr carries only our own messages: MediaPipe's native log lines are silenced.
    assert "W0000" not in proc.stderr and "TensorFlow" not in proc.stderr, proc.stderr
    rec = json.loads(proc.stdout)
    for name in ("aligned_after.png", "checkerboard.png", "valid_mask.png", "alignment.json"):
        assert (out / name).is_file()
    truth = json.loads((SAMPLES / "grace_hopper" / "truth.json").read_text())
    # The file's matrix maps after -> before: compose with the known before -> after map.
    m_true = np.array(truth["pose_after_to_before_inverse"]["matrix_before_to_after"])
    m = np.array(rec["matrix_original"])
    pts = np.array([[400.0, 400.0, 1], [620, 420, 1], [512, 600, 1]])  # around the face
    back = (pts @ m_true.T) @ m.T
    iod = truth["interocular_px"]
    assert np.linalg.norm(back[:, :2] / back[:, 2:] - pts[:, :2], axis=1).max() < 0.01 * iod
    assert rec["inputs"]["before"]["sha256"] and rec["residual_iod"] < 0.05
    assert "GPS" not in proc.stdout
    mtime = (out / "alignment.json").stat().st_mtime_ns
    again = run("align", str(before), str(after), "-o", str(out), "--lighting", "none")
    assert again.returncode == 9
    _one_error_line(again, "exists", "--force")
    assert (out / "alignment.json").stat().st_mtime_ns == mtime
    assert (
        run(
            "align", str(before), str(after), "-o", str(out), "--lighting", "none", "--force"
        ).returncode
        == 0
    )


@pytest.mark.slow
def test_exif_rotated_pair_aligns_in_the_upright_frame(tmp_path):
    d = SAMPLES / "astronaut"
    proc = run(
        "align",
        str(d / "before.jpg"),
        str(d / "after_no_change.jpg"),
        "-o",
        str(tmp_path / "o"),
        "--lighting",
        "none",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    rec = json.loads(proc.stdout)
    assert rec["inputs"]["before"]["exif_orientation"] == 6
    assert rec["coverage"] > 0.99 and rec["residual_iod"] < 0.05


@pytest.mark.parametrize(
    ("make", "code", "needle"),
    [
        (lambda p: None, 3, "no such file"),
        (lambda p: p.write_bytes(b""), 4, "zero bytes"),
        (lambda p: p.write_text("hello, not a photo"), 4, "not an image"),
    ],
)
def test_bad_input_gets_one_line_and_exit_code(tmp_path, make, code, needle):
    bad = tmp_path / "bad.jpg"
    make(bad)
    out = tmp_path / "out"
    proc = run(
        "align",
        str(SAMPLES / "grace_hopper" / "before.jpg"),
        str(bad),
        "-o",
        str(out),
        "--lighting",
        "none",
    )
    assert proc.returncode == code
    _one_error_line(proc, str(bad), needle)
    assert not any(out.glob("*")) if out.exists() else True


def test_no_face_is_refused(tmp_path):
    from PIL import Image

    wall = tmp_path / "wall.png"
    Image.fromarray(np.full((300, 400, 3), 150, np.uint8)).save(wall)
    out = tmp_path / "out"
    proc = run(
        "align",
        str(wall),
        str(SAMPLES / "grace_hopper" / "before.jpg"),
        "-o",
        str(out),
        "--lighting",
        "none",
    )
    assert proc.returncode == 5
    _one_error_line(proc, str(wall), "no face found")
    assert not (out / "alignment.json").exists()


def test_unknown_region_is_a_usage_error(tmp_path):
    g = SAMPLES / "grace_hopper"
    proc = run(
        "align",
        str(g / "before.jpg"),
        str(g / "after_treated.jpg"),
        "-o",
        str(tmp_path / "o"),
        "--treated",
        "cheeks",
    )
    assert proc.returncode == 2
    _one_error_line(proc, "unknown region 'cheeks'", "left_cheek")


def test_compare_in_body_mode_warns_of_the_failing_body_checks(tmp_path):
    """The thigh sample's after photo cut to its left 60 %: the alignment's coverage refusal that
    --force overrode, then one warning line for the framing check in the summary, and the
    checks in result.json."""
    from PIL import Image

    thigh = SAMPLES / "thigh"
    Image.open(thigh / "after_treated.jpg").crop((0, 0, 240, 400)).save(tmp_path / "crop.jpg")
    out = tmp_path / "out"
    proc = run("compare", str(thigh / "before.jpg"), str(tmp_path / "crop.jpg"), "-o", str(out),
               "--mode", "body", "--px-per-mm", "4", "--force")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert re.fullmatch(
        rf"warning: {re.escape(str(tmp_path / 'crop.jpg'))}: aligned photo covers (5[5-9]|6[0-5]) "
        r"% of the measured area; limit 90 %: compared only because of --force",
        lines[1],
    ), proc.stdout
    warnings = [line for line in lines[2:] if line.startswith("warning: ")]
    assert len(warnings) == 1, proc.stdout
    assert re.fullmatch(
        r"warning: framing_overlap: only (5[5-9]|6[0-5])% of the baseline's measured area is in "
        r"this photo: frame the same area as the baseline \(value 0\.\d+, threshold 0\.9 share\)",
        warnings[0],
    ), warnings[0]
    rec = json.loads((out / "result.json").read_text())
    checks = {c["name"]: c for c in rec["body_checks"]}
    assert checks["framing_overlap"]["value"] == pytest.approx(0.6, abs=0.05)
    assert not checks["framing_overlap"]["ok"] and checks["framing_scale"]["ok"]
    assert rec["mismatch"]["overlap"] == checks["framing_overlap"]["value"]


def test_body_check_lines():
    from mesovision.commands.compare import body_check_lines

    ok = {"name": "framing_scale", "ok": True, "value": 1.0, "threshold": 1.15, "unit": "ratio",
          "message": "ok", "severity": "warn"}  # fmt: skip
    bad = {"name": "light_after_alignment", "ok": False, "value": 35.0, "threshold": 20.0,
           "unit": "deg", "message": "put the lamp back", "severity": "warn"}  # fmt: skip
    assert body_check_lines(None) == body_check_lines([ok]) == []  # a 3.0 record, all ok
    assert body_check_lines([ok, bad]) == [
        "warning: light_after_alignment: put the lamp back (value 35, threshold 20 deg)"
    ]


def test_comparability_lines_show_the_widening_to_two_decimals():
    from mesovision.commands.compare import comparability_lines

    def verdict(status, inflation, reason=""):
        return {"status": status, "reason": reason, "inflation": inflation}

    assert comparability_lines(None) == []
    assert comparability_lines({"colour": verdict("comparable", 1.0)}) == [
        "comparability: every family comparable"
    ]
    # just past the comparable limit: widened by 0.4 %, not shown as "x1"
    lines = comparability_lines({
        "colour": verdict("limited", 1.004, "colour: light differs by dE00 1.5"),
        "texture": verdict("limited", 1.0, "texture: the face is 80 px between the eyes"),
        "bruise": verdict("limited", 1.5, "bruise: light differs by dE00 3.0"),
        "geometry": verdict("not_comparable", 1.0, "geometry: the head is turned 3.4 deg"),
        "pigmentation": verdict("comparable", 1.0),
    })  # fmt: skip
    assert lines == [
        "colour: light differs by dE00 1.5 [limited, noise x1.00]",
        "texture: the face is 80 px between the eyes [limited, noise floor not widened]",
        "bruise: light differs by dE00 3.0 [limited, noise x1.50]",
        "geometry: the head is turned 3.4 deg [not comparable, not tested]",
    ]
    # body mode: two families not comparable for the same light turn share one line
    light = "light: the raking light comes from 35 deg further clockwise"
    lines = comparability_lines({
        "texture": verdict("not_comparable", 1.0, light),
        "colour": verdict("limited", 1.25, "colour: light differs by dE00 2.0"),
        "body_texture": verdict("not_comparable", 1.0, light),
        "bruise": verdict("limited", 1.25, "bruise: light differs by dE00 2.0"),
    })  # fmt: skip
    assert lines == [
        "texture, body_texture (light): the raking light comes from 35 deg further clockwise "
        "[not comparable, not tested]",
        "colour, bruise: light differs by dE00 2.0 [limited, noise x1.25]",
    ]


def test_a_comparison_without_changes_says_which_families_it_tested():
    from mesovision.commands.compare import no_change_line

    def verdict(status):
        return {"status": status, "reason": "", "inflation": 1.0}

    every = "no significant change in any region (false discovery rate 5 %)"
    assert no_change_line(None) == every
    assert no_change_line({"colour": verdict("comparable"), "texture": verdict("limited")}) == every
    some = {
        "colour": verdict("not_comparable"),
        "texture": verdict("limited"),
        "bruise": verdict("comparable"),
    }
    assert no_change_line(some) == (
        "no significant change in the families tested (texture, bruise; false discovery rate 5 %)"
    )
    none = {f: verdict("not_comparable") for f in ("colour", "texture")}
    assert no_change_line(none) == "nothing tested: no family is comparable (the reasons are above)"


def test_the_summary_says_which_refusals_force_overrode():
    from mesovision.commands.compare import forced_lines

    assert forced_lines({"forced": []}) == [] and forced_lines({}) == []
    forced = ["b.jpg: a different person from the before photo: face-descriptor distance 0.850, "
              "limit 0.585",
              "b.jpg: alignment residual 8.8 % of the interocular distance; limit 5 %"]  # fmt: skip
    assert forced_lines({"forced": forced}) == [
        "warning: b.jpg: a different person from the before photo: face-descriptor distance "
        "0.850, limit 0.585: compared only because of --force",
        "warning: b.jpg: alignment residual 8.8 % of the interocular distance; limit 5 %: "
        "compared only because of --force",
    ]


def test_progress_without_changes_says_whether_a_family_went_untested():
    from mesovision.commands.progress import _no_change_text

    def comparison(session, against, *statuses):
        verdicts = {f"family{i}": {"status": s} for i, s in enumerate(statuses)}
        return {"session_id": session, "against": against, "record": {"comparability": verdicts}}

    shown = [("s2", "baseline")]
    doc = {"comparisons": [comparison("s2", "baseline", "comparable", "limited")]}
    every = "no significant change in any region (false discovery rate 5 %)"
    assert _no_change_text(doc, shown) == every
    # A not-comparable family of a comparison not shown does not count.
    doc["comparisons"].append(comparison("s3", "baseline", "not_comparable"))
    assert _no_change_text(doc, shown) == every
    assert _no_change_text(doc, [*shown, ("s3", "baseline")]) == (
        "no significant change in the families tested (false discovery rate 5 %; the lines "
        "below say which were not)"
    )


@pytest.mark.slow
def test_demo_runs_every_sample_pair_and_writes_the_course_report(tmp_path):
    out = tmp_path / "demo"
    proc = run("demo", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    for pair in ("astronaut/after_treated", "grace_hopper/after_no_change"):
        rec = json.loads((out / pair / "result.json").read_text())
        assert rec["schema_version"] == "3.2"
    # The scalp close-ups run in trichoscopy mode at their recorded scale: the denser photo's
    # density rises beyond the noise floor, the re-rendered unchanged one shows nothing.
    denser = json.loads((out / "scalp" / "after_denser" / "result.json").read_text())
    same = json.loads((out / "scalp" / "after_no_change" / "result.json").read_text())
    assert denser["settings"]["mode"] == same["settings"]["mode"] == "trichoscopy"
    d = denser["changes"]["area"]["hair.density_per_cm2"]
    assert d["significant"] and d["delta"] > 0
    assert same["significant"] == []
    # The thigh pair runs in body mode at its recorded scale: fewer dimples after the treatment,
    # nothing beyond the noise floor in the re-rendered unchanged photo.
    treated = json.loads((out / "thigh" / "after_treated" / "result.json").read_text())
    same = json.loads((out / "thigh" / "after_no_change" / "result.json").read_text())
    assert treated["settings"]["mode"] == same["settings"]["mode"] == "body"
    d = treated["changes"]["area"]["body.dimple_count"]
    assert d["significant"] and d["delta"] < 0
    assert treated["comparability"]["body_texture"]["status"] == "comparable"
    assert [c["name"] for c in treated["body_checks"] if not c["ok"]] == []
    assert same["significant"] == []
    html = (out / "course" / "report.html").read_text()
    assert "DEMO-01" in html and "<img" in html
    assert (out / "course" / "report.pdf").read_bytes().startswith(b"%PDF")
    assert "treatment course of patient DEMO-01 (3 sessions)" in proc.stdout
    assert DEMO_TRUTH_NOTE in proc.stdout  # where the truth is
    # A second run refuses to overwrite anything, and says so in one line.
    again = run("demo", "-o", str(out))
    assert again.returncode == 9
    _one_error_line(again, "exists")


# --- CLI manners: help texts, examples, suggestions, the exit-code table once ---------------


def _parsers():
    """Every (command path, parser) of the real command line, nested actions included."""
    from mesovision.cli import build_parser, walk_parsers

    return list(walk_parsers(build_parser()))


def _sub_commands():
    return [pytest.param(path, p, id=" ".join(path)) for path, p in _parsers() if path]


def test_the_parser_walk_finds_every_command_and_action():
    paths = {" ".join(path) for path, _ in _parsers()}
    assert {"align", "compare", "batch", "stats", "patient add", "session edit"} <= paths
    assert {
        "store check",
        "store backup",
        "store restore",
        "store manifest",
        "patient remove",
    } <= paths
    assert len(paths) == 1 + 15 + 5 + 3 + 4


@pytest.mark.parametrize(("path", "parser"), _sub_commands())
def test_every_option_has_a_help_text(path, parser):
    import argparse

    missing = [
        "/".join(a.option_strings) or a.dest
        for a in parser._actions
        if not isinstance(a, argparse._SubParsersAction) and not (a.help or "").strip()
    ]
    assert missing == [], f"mesovision {' '.join(path)}: no help for {missing}"


@pytest.mark.parametrize(("path", "parser"), _sub_commands())
def test_every_sub_command_help_has_plain_examples_that_parse(path, parser):
    import shlex

    from mesovision.cli import build_parser

    text = parser.format_help()
    for markup in ("``", ":func:", ":mod:", ":class:", ":data:"):
        assert markup not in text, f"raw markup {markup!r} in mesovision {' '.join(path)} --help"
    assert "exit codes:" not in text  # listed once, under mesovision --help
    assert "\nExamples:\n  mesovision " in text or "\nExamples:\n  # " in text
    examples = text.split("\nExamples:\n", 1)[1].splitlines()
    assert examples and all(ln.startswith(("  mesovision ", "  # ")) for ln in examples)
    for line in (ln for ln in examples if not ln.startswith("  # ")):
        argv = shlex.split(line.split(" > ")[0])[1:]
        args = build_parser().parse_args(argv)  # SystemExit(2) if the example is stale
        assert args.command == path[0] and getattr(args, "run", None) is not None


def test_exit_code_table_appears_once_in_the_main_help():
    from mesovision.cli import build_parser
    from mesovision.commands.common import exit_codes

    text = build_parser().format_help()
    assert text.count("exit codes:") == 1
    table = text.split("exit codes:\n", 1)[1]
    codes = [int(line.split()[0]) for line in table.splitlines() if line[:5].strip().isdigit()]
    assert codes == list(exit_codes()) == [0, 1, *range(2, 16), 130, 141, 143]
    assert "9  An output exists and --force was not given" in table
    # a subclass keeping its parent's code (UnknownPatient: 2) does not rename the code
    assert "2  Bad arguments or options" in table and "patient id that" not in table


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (("compar", "a.jpg", "b.jpg"), "unknown command 'compar'; did you mean 'compare'?"),
        (("pateint", "list"), "unknown command 'pateint'; did you mean 'patient'?"),
        (("patient", "ad", "P1"), "unknown action 'ad'; did you mean 'add'?"),
        (("demo", "--samples", "s", "x"), "unrecognized arguments: x"),
        (("zzzz",), "unknown command 'zzzz'; choose from align, compare, metrics"),
    ],
)
def test_a_mistyped_command_gets_one_line_with_a_suggestion(argv, needle):
    proc = run(*argv)
    assert proc.returncode == 2 and proc.stdout == ""
    _one_error_line(proc, needle)


def test_a_mistyped_option_value_gets_a_suggestion():
    proc = run("align", "a.jpg", "b.jpg", "-o", "out", "--refine", "mesch")
    assert proc.returncode == 2
    _one_error_line(proc, "--refine: unknown value 'mesch'; did you mean 'mesh'?")


def test_main_help_examples_parse():
    import shlex

    from mesovision.cli import EXAMPLES, build_parser

    text = build_parser().format_help()
    assert "\nExamples:\n" + "\n".join(f"  {e}" for e in EXAMPLES) in text
    runnable = [e for e in EXAMPLES if "COMMAND" not in e]
    assert len(runnable) == 3
    for line in runnable:
        assert build_parser().parse_args(shlex.split(line)[1:]).run is not None


def test_the_metrics_table_lines_up(capsys):
    """``mesovision metrics``: every metric's measure, unit, direction and explanation start
    where the header's columns do, the longest unit included ("% of the streak area")."""
    from mesovision.cli import main
    from mesovision.metrics import metric_table

    assert main(["metrics"]) == 0
    head, *lines = capsys.readouterr().out.splitlines()
    starts = [head.index(h) for h in ("measure", "unit", "direction", "what it measures")]
    rows = metric_table()
    assert len(lines) == len(rows)
    for line, r in zip(lines, rows, strict=True):
        fields = (r["display"], r["unit_label"], r["direction"], r["plain"])
        assert [line.index(f, s) for f, s in zip(fields, starts, strict=True)] == starts, line
