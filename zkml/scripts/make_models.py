#!/usr/bin/env python3
"""Make the small, real ONNX models that the `synod-zkml` crate imports and proves.

README
======
This script trains tiny classifiers on scikit-learn's bundled `load_digits`
data set (1797 grey 8x8 images of the digits 0-9; nothing is downloaded),
writes them as ONNX files, makes onnxruntime's statically quantized variants,
checks every file in onnxruntime (and against the numpy/scikit-learn model it
came from), computes an int8 reference accuracy for the float models under
the integer semantics of docs/zkml-arithmetic.md, prints every graph's op
types, and writes `README.md` beside the models. It takes about 15 seconds on
one core.

Regenerate everything (from `zkml/scripts/`):

    python3 -m venv /var/tmp/synod-py
    /var/tmp/synod-py/bin/pip install -r requirements.txt
    OMP_NUM_THREADS=1 /var/tmp/synod-py/bin/python make_models.py --out ../models

Outputs (in --out):

    digits-calibration.json  100 training images, for calibrating a quantizer
    digits-test.json         the held-out test images, for accuracy reports
    mlp.onnx                 float MLP 64 -> 32 (ReLU) -> 10; Gemm(transB=1) + Relu
    cnn.onnx                 float CNN Conv(1->4, 3x3) -> Relu -> MaxPool 2x2 ->
                             Flatten -> Gemm(36 -> 10, transB=1)
    mlp-10k.onnx             float MLP 64 -> 128 -> 16 -> 10 (10,554 parameters),
                             written as MatMul + Add + Relu (weights [in, out])
    mlp-qdq.onnx             mlp.onnx quantized by onnxruntime, QuantFormat.QDQ
    mlp-qlinear.onnx         mlp.onnx quantized by onnxruntime, QuantFormat.QOperator
    mlp-qdq-channel.onnx     mlp.onnx quantized by onnxruntime, QuantFormat.QDQ, per_channel=True
    cnn-qdq-channel.onnx     cnn.onnx quantized by onnxruntime, QuantFormat.QDQ, per_channel=True
    mlp-qlinear-channel.onnx mlp.onnx quantized by onnxruntime, QuantFormat.QOperator, per_channel=True
    cnn-qlinear-channel.onnx cnn.onnx quantized by onnxruntime, QuantFormat.QOperator, per_channel=True
    README.md                what each file is, its ops, sizes and accuracy

Data: pixels (0..16 in load_digits) are divided by 16, so every input value is
k/16 in [0, 1] (exact in binary floating point). Each image is 64 floats in
row-major order (row 0 first); the MLPs take them as [1, 64] and the CNN as
[1, 1, 8, 8] -- the same 64 numbers in the same order. In the JSON files the
values 0 and 1 are written as the JSON integers 0 and 1 (smaller files). The split is a fixed,
stratified 80/20 split (random_state 0); the calibration set is the first
100 images of the (shuffled) training split.

Everything is deterministic: fixed seeds, single-threaded BLAS, no time stamps
in the files. Running the script twice gives byte-identical outputs with the
same package versions (pinned in requirements.txt).
"""

import os

# Single-threaded numeric libraries: modest CPU use and bit-reproducible sums.
# (Set before numpy is imported.)
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402
from importlib.metadata import version as pkg_version  # noqa: E402

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from onnxruntime.quantization import (  # noqa: E402
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402

SEED = 0
OPSET = 13
IR_VERSION = 7  # the IR version that goes with opset 13: readable by old tooling too
N_CALIBRATION = 100
PRODUCER = "synod-zkml make_models.py"


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------


def load_data():
    """Digits scaled to [0, 1]; fixed stratified 80/20 split."""
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)  # (1797, 64), values k/16
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.2, random_state=SEED, stratify=y
    )
    return x_train, x_test, y_train, y_test


def _num(v):
    v = float(v)
    return int(v) if v.is_integer() else v


def write_dataset_json(path, x, y, what):
    doc = {
        "description": what,
        "shape": [8, 8],
        "layout": "each input is one 8x8 image as 64 floats, row-major; "
        "feed it as [1, 64] to the MLPs and as [1, 1, 8, 8] to the CNN",
        # k/16 in shortest form; 0 and 1 as the JSON numbers 0 and 1 (smaller file)
        "inputs": [[_num(v) for v in row] for row in x],
        "labels": [int(v) for v in y],
    }
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")


# --------------------------------------------------------------------------
# ONNX helpers
# --------------------------------------------------------------------------


def init(name, array):
    return numpy_helper.from_array(np.ascontiguousarray(array, dtype=np.float32), name)


def make_model(graph):
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name=PRODUCER,
        producer_version="1",
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


def io(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def save(model, path):
    # Serialize deterministically (protobuf map fields aside, there are none).
    with open(path, "wb") as f:
        f.write(model.SerializeToString(deterministic=True))


def session(path):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


def ort_logits(path, x, shape):
    """Run an ONNX file on every row of x (batch 1, like the Rust side)."""
    sess = session(path)
    (inp,) = sess.get_inputs()
    out = [
        sess.run(None, {inp.name: row.reshape(shape).astype(np.float32)})[0].reshape(-1)
        for row in x
    ]
    return np.stack(out)


def accuracy(logits, y):
    return float(np.mean(np.argmax(logits, axis=1) == y))


def op_types(path):
    model = onnx.load(path)
    return [
        (n.domain + "." if n.domain else "") + n.op_type for n in model.graph.node
    ]


def param_count(path):
    """Parameters of a float model: all its float initializers' elements."""
    model = onnx.load(path)
    return int(sum(np.prod(t.dims) for t in model.graph.initializer))


# --------------------------------------------------------------------------
# MLPs (scikit-learn) -> ONNX
# --------------------------------------------------------------------------


def train_mlp(hidden, x_train, y_train, alpha):
    clf = MLPClassifier(
        hidden_layer_sizes=hidden,
        activation="relu",
        solver="adam",
        alpha=alpha,
        batch_size=32,
        learning_rate_init=1e-3,
        max_iter=300,
        tol=1e-6,
        n_iter_no_change=30,
        random_state=SEED,
        shuffle=True,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(x_train, y_train)
    assert list(clf.classes_) == list(range(10))
    return clf


def mlp_gemm_onnx(clf):
    """Dense layers as Gemm(transB=1): B stored [out, in] (PyTorch's layout)."""
    nodes, inits = [], []
    prev = "input"
    n_layers = len(clf.coefs_)
    for i, (w, b) in enumerate(zip(clf.coefs_, clf.intercepts_)):
        last = i == n_layers - 1
        out = "logits" if last else f"fc{i}_out"
        inits += [init(f"fc{i}.weight", w.T), init(f"fc{i}.bias", b)]  # w.T: [out, in]
        nodes.append(
            helper.make_node(
                "Gemm", [prev, f"fc{i}.weight", f"fc{i}.bias"], [out],
                name=f"fc{i}", alpha=1.0, beta=1.0, transA=0, transB=1,
            )
        )
        if not last:
            nodes.append(helper.make_node("Relu", [out], [f"relu{i}_out"], name=f"relu{i}"))
            out = f"relu{i}_out"
        prev = out
    graph = helper.make_graph(
        nodes, "digits_mlp", [io("input", [1, 64])], [io("logits", [1, 10])], inits
    )
    return make_model(graph)


def mlp_matmul_onnx(clf, name):
    """Dense layers as MatMul + Add: weight stored [in, out] (TF/Keras layout)."""
    nodes, inits = [], []
    prev = "input"
    n_layers = len(clf.coefs_)
    for i, (w, b) in enumerate(zip(clf.coefs_, clf.intercepts_)):
        last = i == n_layers - 1
        inits += [init(f"fc{i}.weight", w), init(f"fc{i}.bias", b)]  # w: [in, out]
        nodes.append(
            helper.make_node("MatMul", [prev, f"fc{i}.weight"], [f"fc{i}_mm"], name=f"fc{i}_matmul")
        )
        out = "logits" if last else f"fc{i}_out"
        nodes.append(
            helper.make_node("Add", [f"fc{i}_mm", f"fc{i}.bias"], [out], name=f"fc{i}_add")
        )
        if not last:
            nodes.append(helper.make_node("Relu", [out], [f"relu{i}_out"], name=f"relu{i}"))
            out = f"relu{i}_out"
        prev = out
    graph = helper.make_graph(
        nodes, name, [io("input", [1, 64])], [io("logits", [1, 10])], inits
    )
    return make_model(graph)


# --------------------------------------------------------------------------
# CNN in plain numpy: Conv 1->4 (3x3, valid) -> ReLU -> MaxPool 2x2/2 -> Dense 36->10
# --------------------------------------------------------------------------


class TinyCNN:
    """conv (4,1,3,3) -> relu -> maxpool 2 -> flatten (C,H,W order) -> dense (10,36).

    Layouts match ONNX exactly: conv weight [C_out, C_in, kH, kW], dense weight
    [out, in] (Gemm transB=1), flatten in channel-major (C, H, W) order.
    """

    C, K, H = 4, 3, 8
    CONV_OUT = H - K + 1  # 6
    POOL_OUT = CONV_OUT // 2  # 3
    FLAT = C * POOL_OUT * POOL_OUT  # 36

    def __init__(self, rng):
        fan_conv = self.K * self.K
        self.params = {
            "conv_w": rng.normal(0, np.sqrt(2.0 / fan_conv), (self.C, 1, self.K, self.K)),
            "conv_b": np.zeros(self.C),
            "fc_w": rng.normal(0, np.sqrt(1.0 / self.FLAT), (10, self.FLAT)),
            "fc_b": np.zeros(10),
        }

    # im2col: (N, 8, 8) -> (N, 36 positions, 9 taps), tap index = kh*3 + kw
    def _cols(self, img):
        n = img.shape[0]
        o = self.CONV_OUT
        cols = np.empty((n, o * o, self.K * self.K))
        for kh in range(self.K):
            for kw in range(self.K):
                cols[:, :, kh * self.K + kw] = img[:, kh:kh + o, kw:kw + o].reshape(n, -1)
        return cols

    def forward(self, x, keep=False):
        p = self.params
        n = x.shape[0]
        o, q = self.CONV_OUT, self.POOL_OUT
        img = x.reshape(n, self.H, self.H).astype(np.float64)
        cols = self._cols(img)
        wk = p["conv_w"].reshape(self.C, -1)  # (4, 9)
        conv = np.einsum("npk,ck->ncp", cols, wk) + p["conv_b"][None, :, None]
        conv = conv.reshape(n, self.C, o, o)
        act = np.maximum(conv, 0.0)
        # windows: (N, C, 3, 3, 4) with window tap index = dh*2 + dw
        win = act.reshape(n, self.C, q, 2, q, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, self.C, q, q, 4)
        arg = np.argmax(win, axis=-1)  # first maximum, like the IR's MaxPool
        pooled = np.take_along_axis(win, arg[..., None], axis=-1)[..., 0]
        flat = pooled.reshape(n, self.FLAT)
        logits = flat @ p["fc_w"].T + p["fc_b"]
        if keep:
            self._cache = (cols, conv, arg, flat)
        return logits

    def backward(self, dlogits):
        p = self.params
        cols, conv, arg, flat = self._cache
        n = dlogits.shape[0]
        o, q = self.CONV_OUT, self.POOL_OUT
        g = {
            "fc_w": dlogits.T @ flat,
            "fc_b": dlogits.sum(axis=0),
        }
        dpooled = (dlogits @ p["fc_w"]).reshape(n, self.C, q, q)
        dwin = np.zeros((n, self.C, q, q, 4))
        np.put_along_axis(dwin, arg[..., None], dpooled[..., None], axis=-1)
        dact = dwin.reshape(n, self.C, q, q, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, self.C, o, o)
        dconv = dact * (conv > 0)
        dconv = dconv.reshape(n, self.C, o * o)
        g["conv_w"] = np.einsum("ncp,npk->ck", dconv, cols).reshape(p["conv_w"].shape)
        g["conv_b"] = dconv.sum(axis=(0, 2))
        return g


def train_cnn(x_train, y_train, epochs=80, batch=32, lr=0.01, weight_decay=1e-4):
    """Mini-batch Adam on softmax cross-entropy; returns the trained TinyCNN."""
    rng = np.random.default_rng(SEED)
    model = TinyCNN(rng)
    m = {k: np.zeros_like(v) for k, v in model.params.items()}
    v = {k: np.zeros_like(v) for k, v in model.params.items()}
    b1, b2, eps = 0.9, 0.999, 1e-8
    step = 0
    n = x_train.shape[0]
    for epoch in range(epochs):
        lr_t = lr * 0.5 * (1 + np.cos(np.pi * epoch / epochs))  # cosine decay
        order = rng.permutation(n)
        for start in range(0, n, batch):
            idx = order[start:start + batch]
            xb, yb = x_train[idx], y_train[idx]
            logits = model.forward(xb, keep=True)
            z = logits - logits.max(axis=1, keepdims=True)
            prob = np.exp(z)
            prob /= prob.sum(axis=1, keepdims=True)
            prob[np.arange(len(yb)), yb] -= 1.0
            grads = model.backward(prob / len(yb))
            step += 1
            for k, p in model.params.items():
                gk = grads[k] + (weight_decay * p if k.endswith("_w") else 0.0)
                m[k] = b1 * m[k] + (1 - b1) * gk
                v[k] = b2 * v[k] + (1 - b2) * gk * gk
                mhat = m[k] / (1 - b1 ** step)
                vhat = v[k] / (1 - b2 ** step)
                p -= lr_t * mhat / (np.sqrt(vhat) + eps)
    return model


def cnn_onnx(model):
    p = model.params
    inits = [
        init("conv.weight", p["conv_w"]),  # [4, 1, 3, 3]
        init("conv.bias", p["conv_b"]),  # [4]
        init("fc.weight", p["fc_w"]),  # [10, 36] = [out, in]
        init("fc.bias", p["fc_b"]),  # [10]
    ]
    nodes = [
        helper.make_node(
            "Conv", ["input", "conv.weight", "conv.bias"], ["conv_out"], name="conv",
            kernel_shape=[3, 3], strides=[1, 1], pads=[0, 0, 0, 0], dilations=[1, 1], group=1,
        ),
        helper.make_node("Relu", ["conv_out"], ["relu_out"], name="relu"),
        helper.make_node(
            "MaxPool", ["relu_out"], ["pool_out"], name="pool",
            kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0],
        ),
        helper.make_node("Flatten", ["pool_out"], ["flat"], name="flatten", axis=1),
        helper.make_node(
            "Gemm", ["flat", "fc.weight", "fc.bias"], ["logits"], name="fc",
            alpha=1.0, beta=1.0, transA=0, transB=1,
        ),
    ]
    graph = helper.make_graph(
        nodes, "digits_cnn", [io("input", [1, 1, 8, 8])], [io("logits", [1, 10])], inits
    )
    return make_model(graph)


# --------------------------------------------------------------------------
# onnxruntime static quantization
# --------------------------------------------------------------------------


class DigitsReader(CalibrationDataReader):
    def __init__(self, x, shape):
        self._rows = [{"input": row.reshape(shape).astype(np.float32)} for row in x]
        self._i = 0

    def get_next(self):
        if self._i >= len(self._rows):
            return None
        self._i += 1
        return self._rows[self._i - 1]

    def rewind(self):
        self._i = 0


def quantize(src, dst, x_cal, fmt, shape=(1, 64), per_channel=False):
    """Static int8 quantization; shape is the model input's (for calibration).

    per_channel=False: one scale per weight tensor; True: one scale per output
    channel of each weight (a 1-D scale and zero point, DequantizeLinear axis).
    """
    # onnxruntime logs advice (pre-processing, QDQ on x64) through the root logger.
    logging.getLogger().setLevel(logging.ERROR)
    quantize_static(
        src,
        dst,
        DigitsReader(x_cal, shape),
        quant_format=fmt,
        per_channel=per_channel,
        reduce_range=False,
        activation_type=QuantType.QInt8,
        weight_type=QuantType.QInt8,
        calibrate_method=CalibrationMethod.MinMax,
        extra_options={
            "WeightSymmetric": True,  # weight zero point 0
            "ActivationSymmetric": False,  # activation zero points from the calibration range
        },
    )
    # Re-save deterministically, with our producer fields (ORT writes its own).
    model = onnx.load(dst)
    onnx.checker.check_model(model)
    save(model, dst)



# --------------------------------------------------------------------------
# int8 reference: docs/zkml-arithmetic.md in numpy, for a cross-check figure
# --------------------------------------------------------------------------
#
# One plain quantization scheme (not necessarily the importer's): weights
# symmetric per tensor (scale max|w|/127), activations asymmetric int8 from the
# calibration set's min/max (range widened to include 0), biases i32 at scale
# sx*sw with the input zero point folded in, requantization by (m, s) rounding
# half up, ReLU folded into the preceding layer's output range, argmax over the
# int8 logits (first maximum). The Rust importer's accuracy should be close.


def _layers(path):
    """The float graph as a list of layers (dense weights as w[o][i])."""
    model = onnx.load(path)
    w = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in model.graph.initializer}
    layers, nodes, i = [], list(model.graph.node), 0
    while i < len(nodes):
        n = nodes[i]
        attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        if n.op_type == "Gemm":
            assert attrs.get("transB") == 1 and attrs.get("transA", 0) == 0
            layers.append(("dense", n.input[0], n.output[0], w[n.input[1]], w[n.input[2]]))
        elif n.op_type == "MatMul":
            add = nodes[i + 1]
            assert add.op_type == "Add" and add.input[0] == n.output[0]
            layers.append(("dense", n.input[0], add.output[0], w[n.input[1]].T, w[add.input[1]]))
            i += 1
        elif n.op_type == "Conv":
            assert attrs["strides"] == [1, 1] and attrs["pads"] == [0, 0, 0, 0]
            layers.append(("conv", n.input[0], n.output[0], w[n.input[1]], w[n.input[2]]))
        elif n.op_type == "MaxPool":
            assert attrs["kernel_shape"] == attrs["strides"] and attrs.get("pads", [0] * 4) == [0] * 4
            layers.append(("maxpool", n.input[0], n.output[0], attrs["kernel_shape"][0], None))
        elif n.op_type in ("Relu", "Flatten"):
            layers.append((n.op_type.lower(), n.input[0], n.output[0], None, None))
        else:
            raise ValueError(f"int8 reference: unsupported op {n.op_type}")
        i += 1
    return layers


def _conv(x, w, b):
    """x (C, H, W), w (O, C, k, k) -> (O, H-k+1, W-k+1); exact for integer input."""
    o, c, k, _ = w.shape
    ho, wo = x.shape[1] - k + 1, x.shape[2] - k + 1
    acc = np.zeros((o, ho, wo), dtype=x.dtype) + b[:, None, None]
    for ci in range(c):
        for kh in range(k):
            for kw in range(k):
                acc += w[:, ci, kh, kw][:, None, None] * x[ci, kh:kh + ho, kw:kw + wo][None]
    return acc


def _maxpool(x, k):
    c, h, wd = x.shape
    return x.reshape(c, h // k, k, wd // k, k).max(axis=(2, 4))


def _run(layers, x, shape, hook=None):
    """Float forward pass of one input; hook(name, value) sees every tensor."""
    t = {layers[0][1]: x.reshape(shape[1:]).astype(np.float64)}
    for kind, src, dst, a, b in layers:
        v = t[src]
        if kind == "dense":
            v = a @ v.reshape(-1) + b
        elif kind == "conv":
            v = _conv(v, a, b)
        elif kind == "relu":
            v = np.maximum(v, 0.0)
        elif kind == "maxpool":
            v = _maxpool(v, a)
        elif kind == "flatten":
            v = v.reshape(-1)
        t[dst] = v
        if hook:
            hook(dst, v)
    return t[layers[-1][2]]


def _requant_params(real_multiplier):
    """(m, s) with m / 2^s ~ real_multiplier, 2^30 <= m < 2^31, 1 <= s <= 62."""
    s = 0
    while real_multiplier * 2.0 ** s < 2.0 ** 30:
        s += 1
    m = int(np.floor(real_multiplier * 2.0 ** s + 0.5))
    if m == 2 ** 31:
        m, s = m // 2, s - 1
    assert 1 <= s <= 62 and 1 <= m < 2 ** 31, (real_multiplier, m, s)
    return m, s


def int8_reference_accuracy(path, shape, x_cal, x_test, y_test):
    layers = _layers(path)
    # Calibration: min/max of every tensor over the calibration set.
    lo, hi = {}, {}

    def hook(name, v):
        lo[name] = min(lo.get(name, 0.0), float(v.min()))
        hi[name] = max(hi.get(name, 0.0), float(v.max()))

    for row in x_cal:
        _run(layers, row, shape, hook)
    lo[layers[0][1]], hi[layers[0][1]] = 0.0, 1.0  # the input's known range
    # A layer followed by ReLU takes the ReLU output's range (the fold).
    for (kind, src, dst, _, _) in layers:
        if kind == "relu":
            lo[src], hi[src] = lo[dst], hi[dst]

    def qparams(name):
        scale = (hi[name] - lo[name]) / 255.0
        zp = int(np.clip(np.floor(-128 - lo[name] / scale + 0.5), -128, 127))
        return scale, zp

    # Quantize the layers.
    qlayers = []
    for kind, src, dst, a, b in layers:
        if kind in ("dense", "conv"):
            (sx, zx), (sy, zy) = qparams(src), qparams(dst)
            sw = float(np.abs(a).max()) / 127.0
            qw = np.clip(np.floor(a / sw + 0.5), -127, 127).astype(np.int64)
            qb = np.floor(b / (sx * sw) + 0.5).astype(np.int64)
            qb = qb - zx * qw.reshape(qw.shape[0], -1).sum(axis=1)  # fold the input zero point
            fan_in = qw[0].size
            assert np.all(np.abs(qb) + 128 * 128 * fan_in < 2 ** 31), "accumulator bound"
            m, s = _requant_params(sx * sw / sy)
            qlayers.append((kind, src, dst, (qw, qb, m, s, zy)))
        else:
            qlayers.append((kind, src, dst, a if kind == "maxpool" else None))

    sx, zx = qparams(layers[0][1])
    correct = 0
    for row, label in zip(x_test, y_test):
        q = np.clip(np.floor(row / sx + 0.5) + zx, -128, 127).astype(np.int64)
        t = {layers[0][1]: q.reshape(shape[1:])}
        for kind, src, dst, p in qlayers:
            v = t[src]
            if kind in ("dense", "conv"):
                qw, qb, m, s, zy = p
                acc = qw @ v.reshape(-1) + qb if kind == "dense" else _conv(v, qw, qb)
                v = np.clip(((acc * m + (1 << (s - 1))) >> s) + zy, -128, 127)
            elif kind == "relu":
                v = np.maximum(v, qparams(src)[1])
            elif kind == "maxpool":
                v = _maxpool(v, p)
            elif kind == "flatten":
                v = v.reshape(-1)
            t[dst] = v
        correct += int(np.argmax(t[layers[-1][2]]) == label)  # first maximum
    return correct / len(y_test)

# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def describe_quantized(path):
    """Lines describing the quantization parameters of a quantized model."""
    model = onnx.load(path)
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    lines = []
    for t in model.graph.initializer:
        a = inits[t.name]
        dt = TensorProto.DataType.Name(t.data_type)
        if a.size == 1:
            lines.append(f"{t.name}: {dt} scalar = {a.reshape(-1)[0]!r}")
        else:
            lines.append(f"{t.name}: {dt} {list(a.shape)}")
    return lines


def check_per_channel(path):
    """Assert the per-channel QDQ layout the README describes; {weight: channels}.

    Weight and bias DequantizeLinear: axis=0, 1-D scale (float32) and zero
    point (int8 for weights, int32 for biases, all 0) of length C_out = the
    weight's dim 0, bias scale = input scale * weight scale. Activation
    Quantize/DequantizeLinear: scalar scale and zero point, no axis.
    """
    model = onnx.load(path)
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    channels = {}
    for n in model.graph.node:
        if n.op_type not in ("QuantizeLinear", "DequantizeLinear"):
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        x, scale, zp = n.input
        s, z = inits[scale], inits[zp]
        if n.op_type == "DequantizeLinear" and x in inits:  # a weight or a bias
            q = inits[x]
            assert attrs == {"axis": 0}, (n.name, attrs)
            assert s.dtype == np.float32 and s.shape == (q.shape[0],), (n.name, s.shape)
            want = np.int32 if x.endswith(".bias_quantized") else np.int8
            assert z.dtype == want and z.shape == s.shape and not z.any(), (n.name, z)
            if not x.endswith(".bias_quantized"):
                channels[x[: -len("_quantized")]] = q.shape[0]
        else:  # an activation
            assert attrs == {} and s.shape == () and z.shape == () and z.dtype == np.int8, n.name
    for n in model.graph.node:
        if n.op_type in ("Gemm", "Conv"):
            w_dq, b_dq = (next(m for m in model.graph.node if o in m.output) for o in n.input[1:3])
            x_dq = next(m for m in model.graph.node if n.input[0] in m.output)
            want = (inits[x_dq.input[1]] * inits[w_dq.input[1]]).astype(np.float32)
            assert np.array_equal(inits[b_dq.input[1]], want), n.name
    return channels


def check_per_channel_qoperator(path, float_path):
    """Assert the per-channel QOperator layout the README describes; {weight: channels}.

    Ops: default-domain QuantizeLinear / DequantizeLinear (scalar scale and
    int8 zero point, no axis) at the edges, com.microsoft.QGemm (alpha=1,
    transA=0, transB=1) and QLinearConv with int8 weights, 1-D float32 weight
    scale and 1-D int8 weight zero point (all 0) of length C_out = the weight's
    dim 0, int32 bias [C_out] = round(b / (x_scale * w_scale[c])) with no
    scale initializer of its own, scalar activation scales and zero points;
    MaxPool and Flatten on int8 tensors, passing their input's scale on.
    """
    model = onnx.load(path)
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    floats = {t.name: numpy_helper.to_array(t) for t in onnx.load(float_path).graph.initializer}
    qparams = {}  # int8 activation -> (scale name, zero point name)

    def scalar(scale, zp):
        s, z = inits[scale], inits[zp]
        assert s.dtype == np.float32 and s.shape == () and z.dtype == np.int8 and z.shape == (), scale

    channels = {}
    for n in model.graph.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        kind = (n.domain + "." if n.domain else "") + n.op_type
        if kind in ("QuantizeLinear", "DequantizeLinear"):
            assert attrs == {}, n.name
            scalar(n.input[1], n.input[2])
            if kind == "QuantizeLinear":
                qparams[n.output[0]] = (n.input[1], n.input[2])
            else:
                assert qparams[n.input[0]] == (n.input[1], n.input[2]), n.name
        elif kind in ("MaxPool", "Flatten"):
            qparams[n.output[0]] = qparams[n.input[0]]
        elif kind in ("com.microsoft.QGemm", "QLinearConv"):
            if kind == "com.microsoft.QGemm":
                assert attrs == {"alpha": 1.0, "transA": 0, "transB": 1}, (n.name, attrs)
                x, sx, zx, w, sw, zw, b, sy, zy = n.input
            else:
                x, sx, zx, w, sw, zw, sy, zy, b = n.input
            assert qparams[x] == (sx, zx), n.name
            scalar(sx, zx)
            scalar(sy, zy)
            qw, s, z, qb = inits[w], inits[sw], inits[zw], inits[b]
            c_out = qw.shape[0]
            assert qw.dtype == np.int8 and np.abs(qw.astype(np.int32)).max() <= 127, w
            assert s.dtype == np.float32 and s.shape == (c_out,), (sw, s.shape)
            assert z.dtype == np.int8 and z.shape == (c_out,) and not z.any(), (zw, z)
            assert qb.dtype == np.int32 and qb.shape == (c_out,), (b, qb.shape)
            fb = floats[b[: -len("_quantized")]]
            assert np.array_equal(qb, np.round(fb / (inits[sx] * s).astype(np.float32))), b
            fw = floats[w[: -len("_quantized")]]
            amax = np.abs(fw.reshape(c_out, -1)).max(axis=1) / np.float32(127)
            live = amax >= np.finfo(np.float32).tiny
            assert np.allclose(s[live], amax[live], rtol=1e-6) and np.all(s[~live] == 1.0), sw
            channels[w[: -len("_quantized")]] = c_out
            qparams[n.output[0]] = (sy, zy)
        else:
            raise AssertionError(f"{path}: unexpected op {kind}")
    return channels


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "models"))
    args = ap.parse_args()
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    P = lambda name: os.path.join(out, name)  # noqa: E731

    x_train, x_test, y_train, y_test = load_data()
    x_cal, y_cal = x_train[:N_CALIBRATION], y_train[:N_CALIBRATION]
    write_dataset_json(
        P("digits-calibration.json"), x_cal, y_cal,
        f"load_digits / 16: the first {N_CALIBRATION} images of the training split (calibration)",
    )
    write_dataset_json(
        P("digits-test.json"), x_test, y_test,
        "load_digits / 16: the held-out test split (stratified 20%, random_state 0)",
    )
    print(f"data: {len(x_train)} train, {len(x_test)} test, {len(x_cal)} calibration")

    results = {}  # file -> dict

    # 1. mlp.onnx
    clf = train_mlp((32,), x_train, y_train, alpha=1e-3)
    save(mlp_gemm_onnx(clf), P("mlp.onnx"))
    lg = ort_logits(P("mlp.onnx"), x_test, (1, 64))
    ref = clf.predict_proba(x_test)
    assert np.array_equal(np.argmax(lg, 1), np.argmax(ref, 1)), "mlp.onnx disagrees with sklearn"
    results["mlp.onnx"] = {"acc": accuracy(lg, y_test), "sklearn_acc": clf.score(x_test, y_test)}

    # 2. cnn.onnx
    cnn = train_cnn(x_train, y_train)
    save(cnn_onnx(cnn), P("cnn.onnx"))
    lg = ort_logits(P("cnn.onnx"), x_test, (1, 1, 8, 8))
    ref = cnn.forward(x_test)
    diff = float(np.max(np.abs(lg - ref)))
    assert diff < 1e-4, f"cnn.onnx disagrees with numpy: {diff}"
    results["cnn.onnx"] = {
        "acc": accuracy(lg, y_test),
        "train_acc": accuracy(cnn.forward(x_train), y_train),
        "max_diff_vs_numpy": diff,
    }

    # 3. mlp-10k.onnx
    clf10k = train_mlp((128, 16), x_train, y_train, alpha=1e-3)
    save(mlp_matmul_onnx(clf10k, "digits_mlp_10k"), P("mlp-10k.onnx"))
    lg = ort_logits(P("mlp-10k.onnx"), x_test, (1, 64))
    assert np.array_equal(np.argmax(lg, 1), np.argmax(clf10k.predict_proba(x_test), 1))
    results["mlp-10k.onnx"] = {"acc": accuracy(lg, y_test), "sklearn_acc": clf10k.score(x_test, y_test)}

    # int8 reference accuracy of the float models (see int8_reference_accuracy)
    for name, shape in (("mlp.onnx", (1, 64)), ("cnn.onnx", (1, 1, 8, 8)), ("mlp-10k.onnx", (1, 64))):
        results[name]["int8_ref_acc"] = int8_reference_accuracy(P(name), shape, x_cal, x_test, y_test)

    # 4. quantized variants of mlp.onnx
    for name, fmt in (("mlp-qdq.onnx", QuantFormat.QDQ), ("mlp-qlinear.onnx", QuantFormat.QOperator)):
        quantize(P("mlp.onnx"), P(name), x_cal, fmt)
        lg = ort_logits(P(name), x_test, (1, 64))
        results[name] = {"acc": accuracy(lg, y_test)}

    # 5. per-channel QDQ and QOperator variants of mlp.onnx and cnn.onnx
    for name, src, shape, fmt in (
        ("mlp-qdq-channel.onnx", "mlp.onnx", (1, 64), QuantFormat.QDQ),
        ("cnn-qdq-channel.onnx", "cnn.onnx", (1, 1, 8, 8), QuantFormat.QDQ),
        ("mlp-qlinear-channel.onnx", "mlp.onnx", (1, 64), QuantFormat.QOperator),
        ("cnn-qlinear-channel.onnx", "cnn.onnx", (1, 1, 8, 8), QuantFormat.QOperator),
    ):
        quantize(P(src), P(name), x_cal, fmt, shape=shape, per_channel=True)
        lg = ort_logits(P(name), x_test, shape)
        results[name] = {"acc": accuracy(lg, y_test)}

    # Summary
    for name, r in results.items():
        r["ops"] = op_types(P(name))
        r["bytes"] = os.path.getsize(P(name))
        r["params"] = param_count(P(name)) if not ("qdq" in name or "qlinear" in name) else None
        r["opset"] = [(o.domain or "ai.onnx", o.version) for o in onnx.load(P(name)).opset_import]
        r["ir_version"] = onnx.load(P(name)).ir_version
    for name in ("digits-calibration.json", "digits-test.json"):
        results[name] = {"bytes": os.path.getsize(P(name))}

    versions = {k: pkg_version(k) for k in ("numpy", "scikit-learn", "onnx", "onnxruntime")}
    versions["python"] = sys.version.split()[0]

    for name, r in results.items():
        print(f"\n{name}: {r['bytes']} bytes, sha256 {sha256(P(name))[:16]}")
        for k, v in r.items():
            if k != "bytes":
                print(f"  {k}: {v}")
    for name in (
        "mlp-qdq.onnx", "mlp-qlinear.onnx", "mlp-qdq-channel.onnx", "cnn-qdq-channel.onnx",
        "mlp-qlinear-channel.onnx", "cnn-qlinear-channel.onnx",
    ):
        print(f"\n{name} initializers:")
        for line in describe_quantized(P(name)):
            print("  " + line)
    for name in ("mlp-qdq-channel.onnx", "cnn-qdq-channel.onnx"):
        print(f"\n{name} per-channel weights (axis 0): {check_per_channel(P(name))}")
    for name, src in (("mlp-qlinear-channel.onnx", "mlp.onnx"), ("cnn-qlinear-channel.onnx", "cnn.onnx")):
        chans = check_per_channel_qoperator(P(name), P(src))
        print(f"\n{name} per-channel weights (axis 0): {chans}")
    print("\nversions:", versions)

    write_readme(P("README.md"), results, versions, len(x_train), len(x_test))


def write_readme(path, r, versions, n_train, n_test):
    def pct(name):
        return f"{100 * r[name]['acc']:.2f}%"

    def ops(name):
        seen = []
        for o in r[name]["ops"]:
            if o not in seen:
                seen.append(o)
        return ", ".join(f"`{o}`" for o in seen)

    def ref(name):
        return f"{100 * r[name]['int8_ref_acc']:.2f}%"

    def kb(name):
        return f"{r[name]['bytes']:,} B"

    checksums = "\n".join(
        f"    {sha256(os.path.join(os.path.dirname(path), name))}  {name}"
        for name in sorted(r)
    )

    text = f"""# zkml models

Small, real models for `synod-zkml`'s ONNX importer, interpreter and halo2
prover. All are digit classifiers for scikit-learn's bundled `load_digits`
(8x8 grey images, 10 classes). **Generated** by
[`../scripts/make_models.py`](../scripts/make_models.py) -- do not edit by hand;
regenerate with (from `zkml/scripts/`):

    python3 -m venv /var/tmp/synod-py
    /var/tmp/synod-py/bin/pip install -r requirements.txt
    OMP_NUM_THREADS=1 /var/tmp/synod-py/bin/python make_models.py --out ../models

The script is deterministic (fixed seeds, single-threaded BLAS): with the
versions below it rewrites every file byte for byte.

Versions: Python {versions['python']}, numpy {versions['numpy']},
scikit-learn {versions['scikit-learn']}, onnx {versions['onnx']},
onnxruntime {versions['onnxruntime']}.

## Data

Pixel values 0..16 are divided by 16, so every input is `k/16` in `[0, 1]`.
Fixed stratified 80/20 split (`random_state=0`): {n_train} training and
{n_test} test images.

| file | contents | size |
|---|---|---|
| `digits-calibration.json` | the first 100 training images (calibration of activation ranges) | {kb('digits-calibration.json')} |
| `digits-test.json` | the {n_test} test images (accuracy reports) | {kb('digits-test.json')} |

Format: `{{"description": str, "shape": [8, 8], "layout": str, "inputs":
[[64 floats], ...], "labels": [int, ...]}}`. Each input is one image, row-major;
feed it as `[1, 64]` to the MLPs and as `[1, 1, 8, 8]` to the CNN (the same 64
numbers in the same order). The values 0 and 1 are written as the JSON integers
`0` and `1`, the others as their shortest exact decimal (`0.0625`, ...).

## Models

"ORT accuracy" is onnxruntime's (CPU, batch 1) on the {n_test} test images.
"int8 reference" is the script's numpy model of `docs/zkml-arithmetic.md`
(weights symmetric per tensor, activations asymmetric from the calibration
min/max, ReLU folded, round half up, argmax of the int8 logits): a figure the
Rust importer's own int8 accuracy should come close to.

| file | what | ops | parameters | ORT accuracy | int8 reference | size |
|---|---|---|---|---|---|---|
| `mlp.onnx` | float MLP 64 -> 32 -> ReLU -> 10 | {ops('mlp.onnx')} | {r['mlp.onnx']['params']:,} | {pct('mlp.onnx')} | {ref('mlp.onnx')} | {kb('mlp.onnx')} |
| `cnn.onnx` | float CNN Conv 1->4 3x3 -> ReLU -> MaxPool 2x2/2 -> Flatten -> Gemm 36->10 | {ops('cnn.onnx')} | {r['cnn.onnx']['params']:,} | {pct('cnn.onnx')} | {ref('cnn.onnx')} | {kb('cnn.onnx')} |
| `mlp-10k.onnx` | float MLP 64 -> 128 -> ReLU -> 16 -> ReLU -> 10 (benchmark anchor, cf. EZKL's 10,497-parameter model) | {ops('mlp-10k.onnx')} | {r['mlp-10k.onnx']['params']:,} | {pct('mlp-10k.onnx')} | {ref('mlp-10k.onnx')} | {kb('mlp-10k.onnx')} |
| `mlp-qdq.onnx` | `mlp.onnx` quantized by onnxruntime, `QuantFormat.QDQ` | {ops('mlp-qdq.onnx')} | (as `mlp.onnx`) | {pct('mlp-qdq.onnx')} | | {kb('mlp-qdq.onnx')} |
| `mlp-qlinear.onnx` | `mlp.onnx` quantized by onnxruntime, `QuantFormat.QOperator` | {ops('mlp-qlinear.onnx')} | (as `mlp.onnx`) | {pct('mlp-qlinear.onnx')} | | {kb('mlp-qlinear.onnx')} |
| `mlp-qdq-channel.onnx` | `mlp.onnx` quantized by onnxruntime, `QuantFormat.QDQ`, per-channel weight scales | {ops('mlp-qdq-channel.onnx')} | (as `mlp.onnx`) | {pct('mlp-qdq-channel.onnx')} | | {kb('mlp-qdq-channel.onnx')} |
| `cnn-qdq-channel.onnx` | `cnn.onnx` quantized by onnxruntime, `QuantFormat.QDQ`, per-channel weight scales | {ops('cnn-qdq-channel.onnx')} | (as `cnn.onnx`) | {pct('cnn-qdq-channel.onnx')} | | {kb('cnn-qdq-channel.onnx')} |
| `mlp-qlinear-channel.onnx` | `mlp.onnx` quantized by onnxruntime, `QuantFormat.QOperator`, per-channel weight scales | {ops('mlp-qlinear-channel.onnx')} | (as `mlp.onnx`) | {pct('mlp-qlinear-channel.onnx')} | | {kb('mlp-qlinear-channel.onnx')} |
| `cnn-qlinear-channel.onnx` | `cnn.onnx` quantized by onnxruntime, `QuantFormat.QOperator`, per-channel weight scales | {ops('cnn-qlinear-channel.onnx')} | (as `cnn.onnx`) | {pct('cnn-qlinear-channel.onnx')} | | {kb('cnn-qlinear-channel.onnx')} |

Every model has one input `input` (float32, `[1, 64]` or `[1, 1, 8, 8]`) and one
output `logits` (float32, `[1, 10]`); the class is the argmax of `logits`.
Float models: opset 13 (default domain only), IR version 7, no value_info;
initializers are float32 in `raw_data` (little-endian), named
`fc<i>.weight` / `fc<i>.bias` / `conv.weight` / `conv.bias`.

### Layout notes for the importer

- **Gemm** (`mlp.onnx`, `cnn.onnx`): `alpha=1, beta=1, transA=0, transB=1`;
  `B` is stored `[out, in]` (PyTorch's `Linear` layout, the IR's `w[o][i]`),
  `C` (bias) is `[out]`.
- **MatMul + Add** (`mlp-10k.onnx`): the MatMul weight is stored `[in, out]`
  (transpose it to `w[o][i]`); the Add's second input is the `[out]` bias
  initializer. (Both dense encodings are covered on purpose.)
- **Conv** (`cnn.onnx`): weight `[C_out=4, C_in=1, 3, 3]`, bias `[4]`,
  `kernel_shape=[3,3]`, `strides=[1,1]`, `pads=[0,0,0,0]`, `dilations=[1,1]`,
  `group=1`. **MaxPool**: `kernel_shape=[2,2]`, `strides=[2,2]`,
  `pads=[0,0,0,0]`. **Flatten** `axis=1`: `[1, 4, 3, 3]` -> `[1, 36]` in
  (C, H, W) row-major order.
- **Per-channel QDQ** (`mlp-qdq-channel.onnx`, `cnn-qdq-channel.onnx`; see
  below for the QDQ pattern): each weight's and each bias's
  `DequantizeLinear` has `axis=0` and 1-D initializers of length `C_out` (the
  weight's dim 0, its output channels): `<w>_scale` float32 and
  `<w>_zero_point` int8 (all 0) for a weight, `<b>_quantized_scale` float32
  (`= input_scale * <w>_scale[c]`) and `<b>_quantized_zero_point` int32 (all
  0) for a bias. Channels: `fc0.weight` `[32, 64]` -> 32, `fc1.weight`
  `[10, 32]` -> 10 (MLP); `conv.weight` `[4, 1, 3, 3]` -> 4, `fc.weight`
  `[10, 36]` -> 10 (CNN); a Gemm's `B` is `[out, in]` (`transB=1`), so axis 0
  is its output channel too. Weights are symmetric, `scale[c] =
  max|w[c]| / 127`, values in `[-127, 127]`. Activation Quantize/Dequantize
  nodes keep scalar scale and zero point and no `axis`. Storage: the weights'
  1-D scales are in `float_data` and their int8 zero points in `int32_data`
  (one per element); the biases' 1-D scales and zero points are `raw_data`.
  Edge case: hidden unit 10 of `mlp.onnx` is dead (its `fc0.weight` row is
  subnormal, max |w| ~ 8.4e-40), so onnxruntime gives it scale `1.0` (its
  fallback when max|w|/127 is below float32's smallest normal) with all-zero
  int8 weights, bias scale `input_scale` and quantized bias -1: per-channel
  scales in one tensor can differ by 100x or more.
- **Quantized CNN** (`cnn-qdq-channel.onnx`): ReLU is folded into the Conv,
  whose output is named `relu_out`; MaxPool and Flatten each sit between a
  `DequantizeLinear` and a `QuantizeLinear` that reuse `relu_out_scale` /
  `relu_out_zero_point` (scale unchanged, so both are exact in int8):
  `Q -> DQ -> Conv -> Q -> DQ -> MaxPool -> Q -> DQ -> Flatten -> Q -> DQ ->
  Gemm -> Q -> DQ -> logits`.
- **Per-channel QOperator** (`mlp-qlinear-channel.onnx`,
  `cnn-qlinear-channel.onnx`; opsets `ai.onnx` 13 and `com.microsoft` 1).
  MLP: `QuantizeLinear -> com.microsoft.QGemm (fc0_quant) ->
  com.microsoft.QGemm (fc1_quant) -> DequantizeLinear`. CNN: `QuantizeLinear
  -> QLinearConv (conv_quant) -> MaxPool -> Flatten -> com.microsoft.QGemm
  (fc_quant) -> DequantizeLinear`; `QLinearConv` is the default-domain op
  (inputs `x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B`; attributes
  as the float Conv's), ReLU is folded into its output `conv_out_quantized`
  (`conv_out_scale`, `conv_out_zero_point` = -128), and MaxPool / Flatten
  (attributes as in `cnn.onnx`) run directly on that int8 tensor with no
  Quantize/Dequantize around them: the QGemm after them takes
  `flat_quantized` with `conv_out_scale` / `conv_out_zero_point` as its
  `a_scale` / `a_zp`. Every QGemm has `alpha=1, transA=0, transB=1` (B stored
  `[out, in]`) and gets a **per-channel** `b_scale`: onnxruntime does make
  1-D scales for QGemm as for QLinearConv. Each weight `<w>_quantized` (int8,
  float layout) comes with `<w>_scale` float32 `[C_out]` and `<w>_zero_point`
  int8 `[C_out]` (all 0), C_out = the weight's dim 0 (for QGemm the output
  column N of `op(B)`): `fc0.weight` 32, `fc1.weight` 10, `conv.weight` 4,
  `fc.weight` 10. Biases `<b>_quantized` are int32 `[C_out]` =
  `round(b / (a_scale * <w>_scale[c]))` with **no** scale or zero-point
  initializer of their own (the scale is implied, the zero point 0). All
  activation scales / zero points (`input_*`, `fc0_out_*`, `conv_out_*`,
  `logits_*`) are float32 / int8 scalars, and the Quantize/DequantizeLinear
  nodes have no `axis`. Storage as in the QDQ files: scales in `float_data`,
  int8 zero points in `int32_data`, weights and biases in `raw_data`. The
  weights, scales, zero points and quantized biases are value for value those
  of the matching `-qdq-channel` file (same names; only the activation ones
  are renamed `relu0_out_*` -> `fc0_out_*`, `relu_out_*` -> `conv_out_*`),
  so the dead hidden unit 10 again has scale `1.0` and bias -1.

### The quantized variants

Made by onnxruntime `quantize_static` (MinMax calibration on
`digits-calibration.json`, `per_channel=False` (`True` for the `-channel`
files), `reduce_range=False`, int8 weights with `WeightSymmetric=True`, int8
activations with `ActivationSymmetric=False`). All keep float32 `input` /
`logits` and quantize at the edges. Types: scales are float32 scalars and
zero points int8 scalars (weights' are 0), except the weights' (and, in QDQ,
the biases') in the `-channel` files (1-D, see the per-channel layout notes
above); weights are int8 in their float layout (`[out, in]` with
`transB=1`; the Conv's `[4, 1, 3, 3]`); biases are int32 at scale
`input_scale * weight_scale` (zero point 0). onnxruntime also writes
`value_info` and a `metadata_props` entry (`onnx.infer`).

- **ReLU is gone** in all of them: onnxruntime folds it into the preceding
  Gemm's (Conv's) output quantization (that range starts at 0, so its zero
  point is -128 and the int8 clamp is the ReLU). The tensor keeps the name
  `relu0_out` (QDQ) / becomes `fc0_out` (QOperator); in the CNN `relu_out`
  (QDQ) / `conv_out` (QOperator).
- **QDQ** (`mlp-qdq.onnx`, `mlp-qdq-channel.onnx`, default domain only):
  `input -> QuantizeLinear -> DequantizeLinear -> Gemm -> QuantizeLinear ->
  DequantizeLinear -> Gemm -> QuantizeLinear -> DequantizeLinear -> logits`,
  with each Gemm's `B` = `DequantizeLinear(int8 weight, scale, zp=0)` and
  `C` = `DequantizeLinear(int32 bias, scale, int32 zp=0)`; those weight/bias
  DequantizeLinear nodes come first in the node list.
- **QOperator** (`mlp-qlinear.onnx`, `mlp-qlinear-channel.onnx`):
  `QuantizeLinear -> com.microsoft.QGemm -> com.microsoft.QGemm ->
  DequantizeLinear`; QGemm (contrib domain `com.microsoft`, version 1) inputs
  are `A, a_scale, a_zp, B, b_scale, b_zp, C (int32 bias), y_scale, y_zp`,
  attributes `alpha=1, transA=0, transB=1`; `b_scale` / `b_zp` are scalars in
  `mlp-qlinear.onnx` and `[N]` in `mlp-qlinear-channel.onnx`. (Quantizing a
  MatMul + Add model instead gives the standard `QLinearMatMul` plus
  `com.microsoft.QLinearAdd`; a Conv gives `QLinearConv`, see
  `cnn-qlinear-channel.onnx`.)
- ONNX `QuantizeLinear` rounds half to even and onnxruntime's integer kernels
  requantize in float, so their int8 values can differ by one from the
  zkml contract's round-half-up fixed-point requantization: compare
  accuracies, not bits.

## SHA-256

{checksums}
"""
    with open(path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
