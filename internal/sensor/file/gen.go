package file

//go:generate go tool bpf2go -target bpfel -type file_info -type file_syscall -type file_flag -type watch_op -type watch_key -type filter_conf -type tree_node -type watch_tree -type tree_flag -type file_id -type alias file file.bpf.c -- -I../../../bpf/include -I../../../bpf/lib
