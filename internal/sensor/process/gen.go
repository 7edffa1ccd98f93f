package process

//go:generate go tool bpf2go -target bpfel -type exec_info -type fork_info -type exit_info -type rename_info -type signal_info -type signal_flag -type exec_flag -type env_name process process.bpf.c -- -I../../../bpf/include -I../../../bpf/lib
