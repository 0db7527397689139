"""Shared pieces of the kit's bcc tools (`sfs trace`, `scl trace`).

- `prereq`: what a tool needs before it can load BPF, with exact messages;
- `histogram`: log2 histograms from BPF maps, printed and as JSON;
- `loop`: the interval/count/Ctrl-C loop of bcc's tools;
- `accuracy`: the accuracy and cost benchmark (`python -m ebpf.accuracy`).

Importing this package does not import bcc; `prereq.load_bcc()` does.
"""
