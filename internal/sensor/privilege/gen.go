package privilege

//go:generate go tool bpf2go -target bpfel -type call_info -type cred_info -type target_info -type ns_info -type mount_info -type module_info -type bpf_info -type priv_call -type priv_flag -type nr_call -type call_entry -type priv_creds -type priv_caps -type str_ref privilege privilege.bpf.c -- -I../../../bpf/include -I../../../bpf/lib
