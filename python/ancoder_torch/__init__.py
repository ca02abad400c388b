"""AnCoder's PyTorch trainer: the scale-out engine for `ancoder train --engine torch` (README "Scaling out").

The same model (Qwen2 blocks; MDLM and the two-stage anchored model), noise schedules, SUBS, NELBO/ANELBO, AdamW with
warm-up + cosine LR, data order and checkpoint folders as the C# trainer in src/AnCoder.Diffusion, so every other
`ancoder` verb (sample, eval, probe, train --init) works on what it writes. Each definition here is tested against
its C# twin (tests/AnCoder.Diffusion.Tests/PyTorchEngine). Runs on torch 1.13 (Debian's python3-torch) and 2.x.
"""
