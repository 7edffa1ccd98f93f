package pinned

//go:generate go tool bpf2go -target bpfel -type verdict -type enforce_hit -type enforce_state -type enforce_action -type policy_slot pinned pinned.bpf.c -- -I../../../bpf/include -I../../../bpf/lib
