"""dlib's face-descriptor ResNet, run on NumPy from dlib's own weights file.

Method. ``dlib_face_recognition_resnet_model_v1.dat`` is dlib's serialization of the network of
dlib's ``examples/dnn_face_recognition_ex.cpp`` (King 2017): a 7x7 convolution with stride 2,
a 3x3 max pooling with stride 2, 14 residual blocks (:data:`BLOCKS`) and a fully connected layer
of 128 outputs without bias, on a 150 x 150 RGB face chip. :func:`read_network` reads the file
as dlib writes it: integers in dlib's compact encoding (a control byte, its low nibble the number
of little-endian bytes to follow, its top bit the sign), strings as a length then bytes, floating
point numbers as an integer mantissa and exponent, tensors (version 2) as their shape then raw
little-endian float32; each layer as its ``serialize`` writes its fields (``con_``, ``affine_``,
``relu_``, ``max_pool_``, ``avg_pool_``, ``add_prev_``, ``fc_``), the layers nested from the loss
layer down to the input layer, their parameters written back up from the input. The file does
not say how the tags, skips and ``add_prev`` layers are wired (that is the C++ type), so the
reader checks the file against the example's definition layer by layer: versions, kinds, filter
counts, kernel sizes, strides, paddings, pooling windows and every tensor's shape, and refuses
anything else.

The forward pass follows dlib's conventions: the input is ``(pixel - mean) / 256`` per channel
with the means stored in the file; a convolution pads by half its filter when its stride is 1
and not at all otherwise, and its output has ``1 + (n + 2 pad - filter) // stride`` rows and
columns (the same rule for the poolings, whose windows stay inside the image); ``affine_`` (the
trained batch normalization) scales and shifts each channel; the shortcut of a block with stride
2 is a 2x2 average pooling with stride 2, and ``add_prev`` adds two tensors of different shapes
as if the smaller were padded with zeros after its last channel, row and column (so a 3 x 3
block output and a 4 x 4 shortcut give 4 x 4, and 128 channels added to 256 fill the first 128);
``avg_pool_everything`` averages each channel over the whole map, and ``fc_no_bias`` multiplies
by the stored (256, 128) matrix. The descriptor is that layer's output, not normalized.

Computation. Each convolution is one float32 matrix product (the image unrolled into columns of
``filter x filter x channels`` values, then NumPy's ``matmul``, which releases the GIL), like
dlib's own CPU path, so the result matches dlib's to float32 rounding (checked in
``tests/identity/test_face_resnet.py``; ``benchmarks/face_resnet.py`` compares it on every face
of ``shared/faces``). Nothing is shared between calls but the read-only weights, so two threads
may run it at once. The weights are read once per process (:func:`network`, thread-safe) and
nothing is written.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "CHIP_SIZE",
    "CHIP_PADDING",
    "BLOCKS",
    "DESCRIPTOR_SIZE",
    "FormatError",
    "FaceResNet",
    "read_network",
    "network",
]

#: The face chip the network takes (``dlib.get_face_chip(img, shape, CHIP_SIZE, CHIP_PADDING)``).
CHIP_SIZE = 150
CHIP_PADDING = 0.25
#: The residual blocks from the input up, ``(filters, stride)``: the example's ``alevel4`` to
#: ``alevel0`` (a block with stride 2 has an average-pooled shortcut).
BLOCKS = (
    ((32, 1),) * 3
    + ((64, 2),)
    + ((64, 1),) * 3
    + ((128, 2),)
    + ((128, 1),) * 2
    + ((256, 2),)
    + ((256, 1),) * 2
    + ((256, 2),)
)
DESCRIPTOR_SIZE = 128
#: The stem: 32 filters of 7 x 7 with stride 2, then a 3 x 3 max pooling with stride 2.
_STEM = (32, 7, 2)
_POOL = (3, 3, 2, 2, 0, 0)
_SHORTCUT_POOL = (2, 2, 2, 2, 0, 0)
_EVERYTHING_POOL = (0, 0, 1, 1, 0, 0)
_CONV_MODE, _FC_NO_BIAS = 0, 1


class FormatError(ValueError):
    """The file is not the network this module runs (or not a dlib network file at all)."""


def _expect(ok: bool, what: str) -> None:
    if not ok:
        raise FormatError(f"not dlib's face-recognition ResNet: {what}")


class _Reader:
    """dlib's serialization format, read from the start of ``data``."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def integer(self) -> int:
        _expect(self.pos < len(self.data), "the file ends early")
        head = self.data[self.pos]
        n = head & 0x0F
        _expect(n <= 8 and self.pos + 1 + n <= len(self.data), f"bad integer at {self.pos}")
        value = int.from_bytes(self.data[self.pos + 1 : self.pos + 1 + n], "little")
        self.pos += 1 + n
        return -value if head & 0x80 else value

    def peek_integer(self) -> int:
        pos = self.pos
        try:
            return self.integer()
        finally:
            self.pos = pos

    def string(self) -> str:
        n = self.integer()
        _expect(0 <= n <= len(self.data) - self.pos, "the file ends early")
        s = self.data[self.pos : self.pos + n].decode("latin-1")
        self.pos += n
        return s

    def real(self) -> float:
        mantissa, exponent = self.integer(), self.integer()
        _expect(exponent < 32000, "infinite or NaN number")
        return mantissa * 2.0**exponent

    def flag(self) -> bool:
        c = self.data[self.pos : self.pos + 1]
        _expect(c in (b"0", b"1"), f"bad bool at {self.pos}")
        self.pos += 1
        return c == b"1"

    def tensor(self) -> np.ndarray:
        _expect(self.integer() == 2, "tensor version (raw float32, version 2, expected)")
        shape = tuple(self.integer() for _ in range(4))
        _expect(min(shape) >= 0, f"tensor shape {shape}")
        n = int(np.prod(shape))
        _expect(self.pos + 4 * n <= len(self.data), "the file ends early")
        a = np.frombuffer(self.data, "<f4", n, self.pos).astype(np.float32).reshape(shape)
        self.pos += 4 * n
        return a

    def alias(self) -> tuple[int, ...]:
        _expect(self.integer() == 1, "alias_tensor version")
        return tuple(self.integer() for _ in range(4))


def _layout() -> list[str]:
    """The layers from the input up as the file nests them: ``|`` a tag or skip layer, else
    the layer's kind (``con`` stands for ``con_4`` or ``con_5``)."""
    out = ["con", "affine_", "relu_", "max_pool_2"]
    for _, stride in BLOCKS:
        out += ["|", "con", "affine_", "relu_", "con", "affine_"]
        out += ["|", "|", "avg_pool_2"] if stride == 2 else []
        out += ["add_prev_", "relu_"]
    return out + ["avg_pool_2", "fc_2"]


def _skip_reals(r: _Reader, n: int) -> None:
    for _ in range(n):
        r.real()


def _details(r: _Reader) -> tuple[str, dict]:
    """One layer's own fields, as its ``serialize`` writes them."""
    kind = r.string()
    f: dict = {}
    if kind in ("con_4", "con_5"):
        f["params"] = r.tensor()
        f["shape"] = tuple(r.integer() for _ in range(7))  # filters, nr, nc, sy, sx, py, px
        f["filters"], f["biases"] = r.alias(), r.alias()
        _skip_reals(r, 4)  # learning-rate and weight-decay multipliers
        f["use_bias"] = r.flag() if kind == "con_5" else True
        kind = "con"
    elif kind == "affine_":
        f["params"], f["gamma"], f["beta"] = r.tensor(), r.alias(), r.alias()
        f["mode"] = r.integer()
    elif kind in ("max_pool_2", "avg_pool_2"):
        f["window"] = tuple(r.integer() for _ in range(6))  # nr, nc, sy, sx, py, px
    elif kind == "fc_2":
        f["outputs"], f["inputs"], f["params"] = r.integer(), r.integer(), r.tensor()
        f["weights"], f["biases"], f["mode"] = r.alias(), r.alias(), r.integer()
        _skip_reals(r, 4)
    else:
        _expect(kind in ("relu_", "add_prev_"), f"unexpected layer {kind!r}")
    return kind, f


def _add_layer(r: _Reader, version: int) -> tuple[str, dict]:
    """An ``add_layer``'s fields after its sub-network: the layer, then its training state."""
    kind, fields = _details(r)
    for _ in range(3):  # setup called, gradient stale, output and gradient disabled
        r.flag()
    for _ in range(3):  # x_grad, cached output, and params_grad or grad_final
        r.tensor()
    if version == 3:
        r.integer()  # sample expansion factor
    return kind, fields


@dataclass(frozen=True)
class _Conv:
    """A convolution and the ``affine_`` on its output: ``weights`` is ``(size * size *
    channels, filters)`` with rows in (row, column, channel) order."""

    weights: np.ndarray
    bias: np.ndarray
    scale: np.ndarray
    shift: np.ndarray
    size: int
    stride: int
    pad: int


def _conv(con: dict, aff: dict, filters: int, size: int, stride: int) -> _Conv:
    pad = size // 2 if stride == 1 else 0  # dlib's con_ default padding
    _expect(con["shape"] == (filters, size, size, stride, stride, pad, pad), f"con {con['shape']}")
    n, k, nr, nc = con["filters"]
    _expect((n, nr, nc) == (filters, size, size) and con["use_bias"], "con filters")
    _expect(con["biases"] == (1, filters, 1, 1), "con biases")
    p = con["params"].reshape(-1)
    _expect(p.size == n * k * nr * nc + n, "con parameter count")
    w = p[: n * k * nr * nc].reshape(n, k, nr, nc).transpose(2, 3, 1, 0).reshape(-1, n)
    _expect(aff["mode"] == _CONV_MODE and aff["gamma"] == aff["beta"] == (1, n, 1, 1), "affine_")
    a = aff["params"].reshape(-1)
    _expect(a.size == 2 * n, "affine_ parameter count")
    return _Conv(
        np.ascontiguousarray(w), p[n * k * nr * nc :].copy(), a[:n].copy(), a[n:].copy(), size,
        stride, pad,
    )  # fmt: skip


@dataclass(frozen=True)
class FaceResNet:
    """The network's weights; :meth:`descriptor` runs it on one face chip."""

    mean: np.ndarray  # (3,) float32: the input layer's red, green and blue means
    stem: _Conv
    blocks: tuple[tuple[_Conv, _Conv], ...]
    fc: np.ndarray  # (256, 128) float32

    def descriptor(self, chip: np.ndarray) -> np.ndarray:
        """The 128 numbers of a ``(150, 150, 3)`` uint8 RGB chip (float32).

        Raises
        ------
        ValueError
            ``chip`` is not a 150 x 150 RGB uint8 image.
        """
        chip = np.asarray(chip)
        if chip.shape != (CHIP_SIZE, CHIP_SIZE, 3) or chip.dtype != np.uint8:
            raise ValueError(
                f"expected a {CHIP_SIZE}x{CHIP_SIZE} RGB uint8 face chip, got {chip.dtype} "
                f"{chip.shape}"
            )
        x = (chip.astype(np.float32) - self.mean) / np.float32(256)
        x = _max_pool(_run(x, self.stem, relu=True), 3, 2)
        for first, second in self.blocks:
            y = _run(_run(x, first, relu=True), second, relu=False)
            x = _add(y, _avg_pool(x, 2, 2) if first.stride == 2 else x)
            np.maximum(x, 0, out=x)
        return x.mean(axis=(0, 1), dtype=np.float32) @ self.fc


def _run(x: np.ndarray, c: _Conv, *, relu: bool) -> np.ndarray:
    """Convolution (one matrix product on the unrolled image), bias, affine, and ReLU."""
    h, w, ch = x.shape
    if c.pad:
        xp = np.zeros((h + 2 * c.pad, w + 2 * c.pad, ch), np.float32)
        xp[c.pad : c.pad + h, c.pad : c.pad + w] = x
        x, h, w = xp, h + 2 * c.pad, w + 2 * c.pad
    s, k = c.stride, c.size
    ho, wo = (h - k) // s + 1, (w - k) // s + 1
    cols = np.empty((ho, wo, k, k, ch), np.float32)
    for i in range(k):
        for j in range(k):
            cols[:, :, i, j] = x[i : i + s * (ho - 1) + 1 : s, j : j + s * (wo - 1) + 1 : s]
    out = np.matmul(cols.reshape(ho * wo, k * k * ch), c.weights)
    out += c.bias
    out *= c.scale
    out += c.shift
    if relu:
        np.maximum(out, 0, out=out)
    return out.reshape(ho, wo, -1)


def _windows(x: np.ndarray, size: int, stride: int):
    """The ``size x size`` shifted views of ``x`` that a pooling with ``stride`` combines."""
    ho, wo = (x.shape[0] - size) // stride + 1, (x.shape[1] - size) // stride + 1
    for i in range(size):
        for j in range(size):
            yield x[i : i + stride * (ho - 1) + 1 : stride, j : j + stride * (wo - 1) + 1 : stride]


def _max_pool(x: np.ndarray, size: int, stride: int) -> np.ndarray:
    views = _windows(x, size, stride)
    out = next(views).copy()
    for v in views:
        np.maximum(out, v, out=out)
    return out


def _avg_pool(x: np.ndarray, size: int, stride: int) -> np.ndarray:
    views = _windows(x, size, stride)
    out = next(views).copy()
    for v in views:
        out += v
    return out / np.float32(size * size)


def _add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """dlib's ``add_prev`` of two tensors: each missing value counts as zero."""
    if a.shape == b.shape:
        return a + b
    out = np.zeros(tuple(map(max, a.shape, b.shape)), np.float32)
    out[: a.shape[0], : a.shape[1], : a.shape[2]] = a
    out[: b.shape[0], : b.shape[1], : b.shape[2]] += b
    return out


def _header(r: _Reader) -> tuple[list[int], np.ndarray]:
    """The loss layer, the wrappers' versions from the top down, and the input layer."""
    _expect(r.integer() == 1 and r.string() == "loss_metric_2", "loss layer")
    _skip_reals(r, 2)  # margin and distance threshold: training only
    versions = []
    while r.pos < len(r.data) and r.peek_integer() in (1, 2, 3):
        versions.append(r.integer())
    expected = [1 if t == "|" else 2 for t in _layout()]
    expected[0] = 3  # the add_layer on the input layer
    _expect(versions[::-1] == expected, "layer nesting differs from dnn_face_recognition_ex")
    _expect(r.string() == "input_rgb_image_sized", "input layer")
    mean = np.array([r.real() for _ in range(3)], np.float32)
    _expect((r.integer(), r.integer()) == (CHIP_SIZE, CHIP_SIZE), "input size")
    return versions[::-1], mean


def read_network(path: str | Path) -> FaceResNet:
    """Read dlib's ``dlib_face_recognition_resnet_model_v1.dat`` (see the module docstring).

    Raises
    ------
    FormatError
        The file is not that network in dlib's format.
    """
    r = _Reader(Path(path).read_bytes())
    versions, mean = _header(r)
    layers = [_add_layer(r, v) for v in versions if v != 1]
    _expect(r.pos == len(r.data), "data after the last layer")
    _expect([k for k, _ in layers] == [t for t in _layout() if t != "|"], "layer kinds")
    fields = [f for _, f in layers]
    pools = [f["window"] for k, f in layers if k in ("max_pool_2", "avg_pool_2")]
    n_down = sum(s == 2 for _, s in BLOCKS)
    _expect(pools == [_POOL] + [_SHORTCUT_POOL] * n_down + [_EVERYTHING_POOL], "poolings")
    convs = iter([(f, fields[i + 1]) for i, (k, f) in enumerate(layers) if k == "con"])
    stem = _conv(*next(convs), _STEM[0], _STEM[1], _STEM[2])
    blocks = tuple(
        (_conv(*next(convs), n, 3, stride), _conv(*next(convs), n, 3, 1)) for n, stride in BLOCKS
    )
    fc = fields[-1]
    n_in = BLOCKS[-1][0]
    _expect(fc["mode"] == _FC_NO_BIAS and fc["biases"] == (0, 0, 0, 0), "fc_no_bias")
    _expect((fc["inputs"], fc["outputs"]) == (n_in, DESCRIPTOR_SIZE), "fc size")
    _expect(fc["weights"] == (n_in, DESCRIPTOR_SIZE, 1, 1), "fc weights")
    weights = np.ascontiguousarray(fc["params"].reshape(n_in, DESCRIPTOR_SIZE))
    return FaceResNet(mean, stem, blocks, weights)


_lock = threading.Lock()
_networks: dict[str, FaceResNet] = {}


def network(path: str | Path) -> FaceResNet:
    """:func:`read_network` of ``path``, read once per process (thread-safe) and kept."""
    key = str(Path(path).resolve())
    with _lock:
        if key not in _networks:
            _networks[key] = read_network(key)
        return _networks[key]
