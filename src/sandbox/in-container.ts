/**
 * Python helpers run inside the sandbox with `python3 -c` (Docker and bubblewrap alike). They exist because
 * Docker's archive API cannot see the tmpfs workspace, and because path checks must resolve symlinks where the
 * files are. Helpers report refusals as
 * one JSON line `{"code","message"}` on stderr and exit HELPER_REFUSAL; the wrapper that runs commands prefixes that
 * line with a per-call tag instead, since a user command may exit with any code.
 */

/**
 * The argv and env that run `script` with python3. The source travels in an environment variable the script drops
 * at once, so `ps` in the sandbox shows a short command line and child processes do not inherit it.
 */
export function python(script: string, args: string[]): { argv: string[]; env: string[] } {
  return {
    argv: ['python3', '-c', "import os; exec(compile(os.environ.pop('KEEL_PY'), 'keel', 'exec'))", ...args],
    env: [`KEEL_PY=${script}`],
  };
}

/** Exit code of a helper that refused (path escape, missing file, ...). */
export const HELPER_REFUSAL = 3;
/** Exit code of the command wrapper when it refused before starting the command. */
export const WRAPPER_REFUSAL = 213;
/** Where the idempotency journal lives: in the sandbox, so it is lost exactly when the command's effects are. */
export const JOURNAL_DIR = '/tmp/.keel-journal';

const PRELUDE = String.raw`
import os, sys, json, stat
WS = '/workspace'
def refuse(code, message):
    sys.stderr.write(json.dumps({'code': code, 'message': message}))
    sys.exit(3)
def resolve(p):
    full = os.path.realpath(os.path.join(WS, p))
    if full != WS and not full.startswith(WS + '/'):
        refuse('path_escape', '%r resolves to %s, outside %s' % (p, full, WS))
    return full
`;

/** argv: path, maxBytes. Writes the file to stdout. */
export const READ_FILE = PRELUDE + String.raw`
p, cap = resolve(sys.argv[1]), int(sys.argv[2])
try:
    st = os.stat(p)
    if stat.S_ISDIR(st.st_mode):
        refuse('io_error', '%r is a directory' % sys.argv[1])
    if st.st_size > cap:
        refuse('too_large', '%r is %d bytes, over the %d byte limit' % (sys.argv[1], st.st_size, cap))
    with open(p, 'rb') as f:
        data = f.read(cap + 1)
except FileNotFoundError:
    refuse('not_found', '%r does not exist' % sys.argv[1])
except OSError as e:
    refuse('io_error', '%r: %s' % (sys.argv[1], e.strerror))
if len(data) > cap:
    refuse('too_large', '%r is over the %d byte limit' % (sys.argv[1], cap))
sys.stdout.buffer.write(data)
`;

/** argv: path. Writes stdin to the file, creating parent directories. */
export const WRITE_FILE = PRELUDE + String.raw`
p = resolve(sys.argv[1])
try:
    if os.path.isdir(p):
        refuse('io_error', '%r is a directory' % sys.argv[1])
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, 'wb') as f:
        while True:
            b = sys.stdin.buffer.read(65536)
            if not b:
                break
            f.write(b)
except OSError as e:
    refuse('io_error', '%r: %s' % (sys.argv[1], e.strerror))
`;

/**
 * argv: path. Removes a file or symlink; a missing one is fine. Only the parent is resolved, so removing a symlink
 * removes the link, never its target.
 */
export const REMOVE_FILE = PRELUDE + String.raw`
parent, name = os.path.split(os.path.normpath(os.path.join(WS, sys.argv[1])))
p = os.path.join(resolve(parent), name)
if p == WS or name in ('', '.', '..'):
    refuse('path_escape', '%r is the workspace itself' % sys.argv[1])
try:
    if stat.S_ISDIR(os.lstat(p).st_mode):
        refuse('io_error', '%r is a directory' % sys.argv[1])
    os.unlink(p)
except FileNotFoundError:
    pass
except OSError as e:
    refuse('io_error', '%r: %s' % (sys.argv[1], e.strerror))
`;

/** argv: path. Prints a JSON array of DirEntry. */
export const LIST_DIR = PRELUDE + String.raw`
p = resolve(sys.argv[1])
try:
    names = sorted(os.listdir(p))
except FileNotFoundError:
    refuse('not_found', '%r does not exist' % sys.argv[1])
except OSError as e:
    refuse('io_error', '%r: %s' % (sys.argv[1], e.strerror))
out = []
for n in names:
    try:
        st = os.lstat(os.path.join(p, n))
    except OSError:
        continue
    m = st.st_mode
    t = 'symlink' if stat.S_ISLNK(m) else 'dir' if stat.S_ISDIR(m) else 'file' if stat.S_ISREG(m) else 'other'
    out.append({'name': n, 'type': t, 'size': st.st_size})
print(json.dumps(out))
`;

/** argv: dest. Extracts the tar on stdin into dest (created if missing). */
export const EXTRACT = PRELUDE + String.raw`
p = resolve(sys.argv[1])
try:
    os.makedirs(p, exist_ok=True)
except OSError as e:
    refuse('io_error', '%r: %s' % (sys.argv[1], e.strerror))
os.execvp('tar', ['tar', '-x', '-f', '-', '-C', p, '--no-same-owner'])
`;

/**
 * Looks up an idempotency journal entry. argv: journal path, seconds to wait for a run still in progress (its
 * wrapper holds an flock on `<journal>.running`, released however it dies). Prints the entry and exits 0, or exits 3
 * when there is none.
 */
export const JOURNAL_LOOKUP = String.raw`
import fcntl, os, sys, time
path, deadline = sys.argv[1], time.time() + float(sys.argv[2])
while True:
    try:
        with open(path) as f:
            sys.stdout.write(f.read())
        sys.exit(0)
    except FileNotFoundError:
        pass
    try:
        fd = os.open(path + '.running', os.O_RDONLY)
    except OSError:
        sys.exit(3)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        sys.exit(3)  # nobody holds it: that run died without an entry
    except BlockingIOError:
        pass
    finally:
        os.close(fd)
    if time.time() > deadline:
        sys.exit(3)
    time.sleep(0.1)
`;

const KILL_FN = String.raw`
import os, signal
def kill_marked(marker, me):
    tag = ('KEEL_EXEC_ID=' + marker).encode()
    for _ in range(3):
        pids = []
        for d in os.listdir('/proc'):
            if not d.isdigit() or int(d) == me:
                continue
            try:
                with open('/proc/%s/environ' % d, 'rb') as f:
                    if tag in f.read().split(b'\0'):
                        pids.append(int(d))
            except OSError:
                pass
        for pid in pids:
            try:
                if os.getpgid(pid) == pid:
                    os.killpg(pid, signal.SIGKILL)
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if not pids:
            return
`;

/**
 * Kills every process carrying KEEL_EXEC_ID=<argv[1]> in its environment, and the process groups they lead:
 * that catches children that left the group with setsid.
 */
export const KILL_MARKED = KILL_FN + String.raw`
import sys
kill_marked(sys.argv[1], os.getpid())
`;

/** The Python twin of output-capture.ts (Capture.write/render, render_outputs), used for journal entries. */
export const PY_CAPTURE = String.raw`
def utf8_floor(b, i):
    at = min(i, len(b))
    start = at - 1
    while start > 0 and at - start < 4 and (b[start] & 0xC0) == 0x80:
        start -= 1
    if start < 0:
        return 0
    lead = b[start]
    size = 4 if lead >= 0xF0 else 3 if lead >= 0xE0 else 2 if lead >= 0xC0 else 1
    return start if start + size > at else at
def utf8_ceil(b, i):
    at = max(i, 0)
    limit = at + 3
    while at < len(b) and at < limit and (b[at] & 0xC0) == 0x80:
        at += 1
    return at
class Capture:
    def __init__(self, cap):
        self.cap, self.hc = cap, cap // 2
        self.tc = cap - self.hc
        self.head, self.tail, self.total = bytearray(), bytearray(), 0
    def write(self, b):
        self.total += len(b)
        if len(self.head) < self.hc:
            n = self.hc - len(self.head)
            self.head += b[:n]
            b = b[n:]
        if b and self.tc:
            self.tail += b
            if len(self.tail) > self.tc:
                del self.tail[:len(self.tail) - self.tc]
    def render(self, budget):
        b = min(budget, self.cap)
        if self.total <= self.cap:
            head = tail = bytes(self.head + self.tail)
        else:
            head, tail = bytes(self.head), bytes(self.tail)
        if self.total <= b:
            return head.decode('utf-8', 'replace'), False
        kh = head[:utf8_floor(head, b // 2)]
        kt = tail[utf8_ceil(tail, len(tail) - (b - b // 2)):]
        marker = '\n\u2026[truncated %d bytes]\u2026\n' % (self.total - len(kh) - len(kt))
        return kh.decode('utf-8', 'replace') + marker + kt.decode('utf-8', 'replace'), True
def render_outputs(out, err, budget):
    ob = eb = budget
    if out.total + err.total > budget:
        half = budget // 2
        if out.total <= err.total:
            ob = min(out.total, half)
            eb = budget - ob
        else:
            eb = min(err.total, half)
            ob = budget - eb
    o, ot = out.render(ob)
    e, et = err.render(eb)
    return {'stdout': o, 'stderr': e, 'truncated': ot or et}
`;

/**
 * Runs one command for exec.ts. argv[1] is JSON: {cmd, workdir, timeoutMs, cap, journal?, marker, tag}. The
 * command runs under bash in its own session (so its process group is killable as a unit) with stdin closed; its
 * output is relayed through this process. On timeout the group and every marked process are SIGKILLed and the
 * wrapper exits 124. When the command exits but background processes still hold its output a second later, the
 * group is killed; `setsid cmd > log 2>&1 &` keeps a daemon (its own group, output not held). With a journal
 * path, the result (captured with the same head/tail rule as output-capture.ts) is written atomically on exit.
 */
export const RUN_COMMAND = KILL_FN + String.raw`
import os, sys, json, time, select, signal, subprocess
spec = json.loads(sys.argv[1])
WS = '/workspace'
def refuse(code, message):
    sys.stderr.write(spec['tag'] + json.dumps({'code': code, 'message': message}))
    sys.exit(213)
cwd = os.path.realpath(os.path.join(WS, spec['workdir']))
if cwd != WS and not cwd.startswith(WS + '/'):
    refuse('path_escape', 'workdir %r resolves to %s, outside %s' % (spec['workdir'], cwd, WS))
if not os.path.isdir(cwd):
    refuse('not_found', 'workdir %r is not a directory' % spec['workdir'])

` + PY_CAPTURE + String.raw`

journal = spec.get('journal')
if journal:
    # Hold an flock on <journal>.running while running, for JOURNAL_LOOKUP. It is taken before the file appears
    # under its name, so a lookup never sees the marker unlocked while this run is alive.
    import fcntl
    os.makedirs(os.path.dirname(journal), mode=0o700, exist_ok=True)
    pending = '%s.lock.%d' % (journal, os.getpid())
    lock = os.open(pending, os.O_CREAT | os.O_WRONLY, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX)
    os.replace(pending, journal + '.running')
caps = {1: Capture(spec['cap']), 2: Capture(spec['cap'])}
host_gone = False
def emit(fd, data):
    global host_gone
    if journal:
        caps[fd].write(data)
    while data and not host_gone:
        try:
            data = data[os.write(fd, data):]
        except OSError:
            host_gone = True

start = time.monotonic()
deadline = start + spec['timeoutMs'] / 1000.0
p = subprocess.Popen(['/bin/bash', '-c', spec['cmd']], cwd=cwd, stdin=subprocess.DEVNULL,
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
fds = {p.stdout.fileno(): 1, p.stderr.fileno(): 2}
exited_at = None
timed_out = lingering = False
while fds or p.poll() is None:
    now = time.monotonic()
    if now >= deadline:
        timed_out = True
        break
    wait = min(deadline - now, 0.25)
    if exited_at is None and p.poll() is not None:
        exited_at = now
    if exited_at is not None:
        # The command is done but a background child still holds its output: give it a moment, then kill the
        # group (a stray job or a fork bomb must not outlive the command and keep the exec open).
        if now - exited_at > 1.0:
            lingering = True
            break
        wait = min(wait, exited_at + 1.0 - now)
    ready = select.select(list(fds), [], [], wait)[0] if fds else time.sleep(wait) or []
    for fd in ready:
        data = os.read(fd, 65536)
        if data:
            emit(fds[fd], data)
        else:
            del fds[fd]

if timed_out:
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except OSError:
        pass
    kill_marked(spec['marker'], os.getpid())
    p.wait()
    code = 124
    emit(2, ('\n[keel] command timed out after %gs; its process group was killed\n' % (spec['timeoutMs'] / 1000.0)).encode())
else:
    code = p.wait()
    if code < 0:
        code = 128 - code
    if lingering:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            pass
        emit(2, b'\n[keel] background processes still held the output after the command exited; their process group '
                b'was killed (start them with: setsid cmd > log 2>&1 & to keep them running)\n')
if journal:
    entry = {'exitCode': code, 'timedOut': timed_out, 'durationMs': int((time.monotonic() - start) * 1000)}
    entry.update(render_outputs(caps[1], caps[2], spec['cap']))
    tmp = '%s.tmp.%d' % (journal, os.getpid())
    try:
        with open(tmp, 'w') as f:
            json.dump(entry, f)
        os.replace(tmp, journal)
        # Only recent entries matter (a retry comes soon after its attempt): keep /tmp from filling up.
        d = os.path.dirname(journal)
        entries = sorted((e for e in os.scandir(d) if e.name.endswith('.json')), key=lambda e: e.stat().st_mtime)
        for old in entries[:-200]:
            os.unlink(old.path)
    except OSError:
        # A full /tmp loses the journal entry, not the command's result.
        pass
    try:
        os.unlink(journal + '.running')
    except OSError:
        pass
sys.exit(code)
`;
