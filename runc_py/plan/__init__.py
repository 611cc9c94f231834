"""config.json -> InitPlan: an ordered list of setup steps, each naming the
config field it comes from.  Pure: compile() does no syscalls, so plans are
golden-tested and `runc-py plan` can print what the runtime will do."""
from .compile import InitPlan, Step, compile_plan

__all__ = ["InitPlan", "Step", "compile_plan"]
