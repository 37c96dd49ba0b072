"""The judge role (installed as almeval.judges): templates, strict reply parsers, the endpoint limiter.

Not built yet: the scheduler exposes the hook (`almeval.scheduler.JudgeHook`) that judges plug into;
datasets whose recipe needs a judge are reported as "needs a judge" until then.
"""
