"""HR's duty policy as a model, pure: validation only, no I/O, no clock. The files are
read and watched by `guardian.policy_files`."""
