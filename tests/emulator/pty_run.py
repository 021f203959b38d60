"""Runs a command on a pseudo-terminal and types answers at its prompts: python pty_run.py ENDPOINT < spec.json

spec: {"argv": [...], "cwd": "...", "env": {...}, "answers": [["prompt text", "typed line"], ...]}
A typed line that is "^C" is a Ctrl-C: the terminal's interrupt character, sent as soon as the prompt shows.
Prints JSON {"code": exit status, "output": everything the terminal showed}.
"""

import json
import os
import pty
import select
import sys
import termios
import time

spec = json.load(sys.stdin)
pid, fd = pty.fork()
if pid == 0:
    os.chdir(spec["cwd"])
    env = dict(os.environ)
    env.update(spec.get("env", {}))
    os.execve(spec["argv"][0], spec["argv"], env)

output = b""
answers = list(spec.get("answers", []))
deadline = time.time() + spec.get("timeout", 30)
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.2)
    if r:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    if answers and answers[0][0].encode() in output[-200:]:
        prompt, line = answers.pop(0)
        if line == "^C":
            time.sleep(0.2)
            os.write(fd, b"\x03")
            output += b"<ctrl-c>"
            continue
        # Type only once the program has turned echo off (what a person typing would see), or after 3 s.
        wait = time.time() + 3
        while time.time() < wait and termios.tcgetattr(fd)[3] & termios.ECHO:
            time.sleep(0.02)
        os.write(fd, (line + "\n").encode())
        output += b"<typed>"
# Past the deadline the program is stopped: nobody reads its terminal any more, and a write to a full one
# would block it forever.
if time.time() >= deadline:
    os.kill(pid, 9)
    output += b"<killed: still running after the deadline>"
_, status = os.waitpid(pid, 0)
print(json.dumps({"code": os.waitstatus_to_exitcode(status), "output": output.decode(errors="replace")}))
