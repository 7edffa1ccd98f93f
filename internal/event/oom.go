package event

// OOM is what the kernel's OOM killer did (kind oom_kill): the event's
// process is the victim, and Trigger is the process whose allocation found
// no memory left (often the victim itself).
type OOM struct {
	// Comm is the victim's command name as the kernel had it (its
	// process may be unknown to the process cache: killed before exec).
	Comm        string `json:"comm"`
	UID         uint32 `json:"uid"`
	OOMScoreAdj int    `json:"oom_score_adj"`
	// TotalVMBytes is the victim's address space when it was chosen.
	TotalVMBytes uint64 `json:"total_vm_bytes"`
	TriggerPID   uint32 `json:"trigger_pid"`
	TriggerComm  string `json:"trigger_comm"`
	// TriggerCgroupID is the trigger's cgroup v2 id.
	TriggerCgroupID uint64 `json:"trigger_cgroup_id"`
}
