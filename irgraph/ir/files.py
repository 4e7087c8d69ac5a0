"""Output files, written whole or not at all, and never over the model they were made from."""

import os
import stat
import tempfile

from .errors import Error


def refuse_overwrite(path, model):
    """An Error when `path` is the model file itself (compile m.eq -o m.eq would destroy the model)."""
    if model and model != "-" and os.path.exists(path) and os.path.exists(model) and os.path.samefile(path, model):
        raise Error(f"refusing to write over {model}, the model itself: choose another output file (-o)")


def write_file(path, data, model=None):
    """Write text or bytes to `path` through a temporary file in the same folder and a rename: a failed
    write leaves no partial file and the old content intact. A device or a pipe (/dev/full, /dev/stdout)
    cannot be replaced by a rename and is written directly. Any failure is an Error naming the path."""
    path = os.fspath(path)
    refuse_overwrite(path, model)
    data = data.encode("utf-8") if isinstance(data, str) else data
    try:
        if os.path.exists(path) and not stat.S_ISREG(os.stat(path).st_mode):
            with open(path, "wb") as f:
                f.write(data)
            return path
        mode = stat.S_IMODE(os.stat(path).st_mode) if os.path.exists(path) else 0o666 & ~_umask()
        fd, temporary = tempfile.mkstemp(prefix=".irgraph-", suffix=".tmp", dir=os.path.dirname(path) or ".")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.chmod(temporary, mode)  # mkstemp makes it private; the result gets the usual permissions
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError as e:
        raise Error(f"cannot write {path}: {e.strerror or e}") from None
    return path


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask
