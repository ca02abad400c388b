"""Writes reference_tensors.safetensors: one tensor per supported dtype with values the C# test states by hand.

Run from this folder with /usr/bin/python3 (Debian's python3-torch): python3 make_reference_tensors.py
"""
import os
import sys

sys.dont_write_bytecode = True
import torch  # noqa: E402

import safetensors_format  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

tensors = [
    # Deliberately not in name order: readers must use data_offsets, not the order of the header.
    ("weights.f32", torch.tensor([[0.0, 0.5, 1.0], [1.5, -2.0, 3.25]], dtype=torch.float32)),
    ("weights.bf16", torch.tensor([1.5, -2.0, 3.140625, 65280.0], dtype=torch.bfloat16)),  # all exact in bf16
    ("ids.i64", torch.tensor([-1, 2 ** 40, 7], dtype=torch.int64)),
    ("flags.bool", torch.tensor([True, False, True], dtype=torch.bool)),
    ("bytes.u8", torch.tensor([0, 127, 255], dtype=torch.uint8)),
    ("half.f16", torch.tensor([0.25, -1024.0], dtype=torch.float16)),
    ("double.f64", torch.tensor([1.0 / 3.0], dtype=torch.float64)),
    ("ints.i32", torch.tensor([[-2147483648], [2147483647]], dtype=torch.int32)),
    ("scalar.f32", torch.tensor(42.0, dtype=torch.float32)),  # shape []
    ("empty.f32", torch.zeros(0, 4, dtype=torch.float32)),  # no bytes
]
safetensors_format.write(os.path.join(HERE, "reference_tensors.safetensors"), tensors,
                         metadata={"format": "pt", "written_by": "make_reference_tensors.py"})
