"""``mesovision align BEFORE AFTER -o OUT``: the aligned after photo and its quality."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .common import (
    add_align_options,
    add_subparser,
    align_from_args,
    input_files,
    lighting_method,
    new_folder_ok,
    printable,
)

__all__ = ["OUTPUTS", "add_parser", "lighting_line", "run"]

OUTPUTS = ("aligned_after.png", "checkerboard.png", "valid_mask.png", "alignment.json")


def add_parser(sub) -> None:
    p = add_subparser(
        sub,
        "align",
        "align the after photo onto the before photo",
        run,
        examples=(
            "mesovision align before.jpg after.jpg -o aligned",
            "mesovision align before.jpg after.jpg -o aligned --refine mesh --lighting none",
            "mesovision align thigh_before.jpg thigh_after.jpg -o aligned --mode body",
        ),
    )
    add_align_options(p)


def run(args: argparse.Namespace) -> int:
    from ..io import output_folder, write_json, write_png
    from ..pipeline import alignment_record, checkerboard
    from ..regions import validate_region_names
    from .feedback import Feedback

    treated = validate_region_names(args.treated) if args.treated else ()
    lighting = lighting_method(args.lighting)
    names = list(OUTPUTS) + (["normalized_after.png"] if lighting != "none" else [])
    new_folder_ok(args.out)
    out = Path(args.out)
    # All outputs or none: written into a staging folder, moved into `out` at the end.
    with (
        Feedback("align", quiet=args.quiet or args.json) as fb,
        output_folder(out, names, force=args.force, inputs=input_files(args)) as staging,
    ):
        fb.stage("aligning the photos", done="aligned the photos")
        pair = align_from_args(args)
        record = alignment_record(pair)
        images = {}
        if lighting != "none":
            from ..scoring import normalize_pair

            fb.stage("evening out the light", done="evened out the light")
            norm = normalize_pair(pair, method=lighting, treated=treated)
            record["lighting"] = norm.report.as_dict()
            images["normalized_after"] = norm.after
        lm = pair.before_landmarks
        tile = max(8, int(lm.interocular_px / 2)) if lm else max(8, min(pair.valid.shape) // 16)
        images["aligned_after"] = pair.aligned_after
        images["checkerboard"] = checkerboard(pair.before.rgb, pair.aligned_after, tile_px=tile)
        images["valid_mask"] = pair.valid
        fb.stage("writing the outputs", done="wrote the outputs")
        for key, img in images.items():
            write_png(staging / f"{key}.png", img)
        write_json(staging / "alignment.json", record)
    written = {key: out / f"{key}.png" for key in images} | {"alignment": out / "alignment.json"}
    if args.json:
        print(json.dumps({**record, "outputs": {k: str(v) for k, v in written.items()}}, indent=2))
        return 0
    al = pair.alignment
    iod = f" ({100 * al.residual_iod:.2f} % of interocular distance)" if al.residual_iod else ""
    print(
        f"aligned {printable(Path(args.after).name)} onto {printable(Path(args.before).name)}: "
        f"{al.method}, "
        f"residual {al.residual_px:.2f} px{iod}, coverage {100 * al.coverage:.1f} %"
    )
    if "lighting" in record:
        print(lighting_line(record["lighting"]))
    print(f"outputs in {printable(out)}/")
    return 0


def lighting_line(lr: dict) -> str:
    """The lighting normalization's line: the colour difference on its reference pixels before
    and after the fit, median and 95th percentile (a median the fit brought down beside a high
    percentile is a light the fit did not undo everywhere)."""
    b, a = lr["delta_e_before"], lr["delta_e_after"]
    return (
        f"lighting: {lr['method']} ({lr.get('model')}), reference dE00 median "
        f"{b['median']:.2f} -> {a['median']:.2f}, p95 {b['p95']:.1f} -> {a['p95']:.1f}"
    )
