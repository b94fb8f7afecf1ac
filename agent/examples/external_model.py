#!/usr/bin/env python3
"""An external model for synod-agent (optimistic steps only).

The protocol is JSON lines. For every line the agent writes to stdin,
    {"input": [int8, ...]}
answer exactly one line on stdout (and flush it):
    {"output": [int, ...]}     or     {"error": "reason"}
The process lives across calls. It must be deterministic: the agent runs
sample inputs twice before serving it and refuses a command whose answers
differ. Anything printed on stderr goes to the agent's log.

This one scores 10 classes: class c sums the inputs at positions i with
i % 10 == c, clamped to the int8 range.
"""
import json
import sys

OUTPUTS = 10


def score(values):
    out = []
    for c in range(OUTPUTS):
        s = sum(v for i, v in enumerate(values) if i % OUTPUTS == c)
        out.append(max(-128, min(127, s)))
    return out


for line in sys.stdin:
    try:
        values = json.loads(line)["input"]
        if not all(isinstance(v, int) and -128 <= v <= 127 for v in values):
            raise ValueError("the input is not int8")
        answer = {"output": score(values)}
    except Exception as e:  # a bad line is answered, never a crash
        answer = {"error": str(e)}
    print(json.dumps(answer), flush=True)
