"""Everything that runs a submission's code, in one place.

- ``execute``: nbgrader's Execute step, hardened (``GuardedExecute``): starts the kernel, runs the
  cells under the time and output limits, asks the guard around every test, records what happened.
- ``bubblewrap``: the sandbox the kernel runs in (no network, its own processes, a filesystem of
  what the notebook needs only, an unprivileged user).
- ``kernel``: the launcher that runs inside the sandbox: limits, root dropped, guard, ipykernel.
- ``zygote``: a process that has imported what every kernel imports and forks each kernel into its
  sandbox (``GuardedExecute.fork_kernels``; ``holder``: the sandbox's first command then;
  ``namespaces``: the Linux calls that enter a sandbox and give up privileges).
- ``limits``: the ``setrlimit`` limits (memory, file size, processes) and the uid change.
- ``guard``: the in-kernel guard that puts the libraries back before each test and delivers the
  hidden-test seed.
- ``judge``: whether a graded cell passed, and the message a learner reads (one rule for
  ``grader check``, the feedback and the executor).
- ``worker``: one grading process of ``python -m grader autograde`` (nbgrader's autograde and
  generate_feedback for one submission at a time).

docs/sandbox.md says what the sandbox stops and what it cannot.
"""
