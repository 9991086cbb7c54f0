"""Scale-out (issue 14): user jobs run by procrastinate workers on several machines.

``queue``: the procrastinate app over the state database (its schema: revision
0009_workers). ``runner``: ``ProcrastinateRunner``, the scheduler's JobRunner that defers
jobs instead of running them. ``worker``: ``mailferry worker``, which takes a deferred
job's claim over and runs it. ``leader``: only one scheduler acts (an advisory lock).
``give_back``: a job that will not run sends its user back.
``listing``: ``mailferry workers``. See docs/design/scale-out.md.
"""
