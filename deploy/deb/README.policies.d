Policy files (*.yaml, docs/policies.md), enforced in the kernel and reloaded
when they change. Check first with `vigil policy validate FILE`.
