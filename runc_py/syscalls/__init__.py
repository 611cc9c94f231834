"""The one seam between the runtime and the kernel for the syscalls CPython
lacks.  `linux` wraps runc_py._native (cffi); each function raises
SyscallError (an OSError carrying .syscall and .path) on failure."""
