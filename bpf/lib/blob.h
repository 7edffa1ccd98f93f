/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A string in the blob that follows a record's fixed part (blob.bpf.h), as
 * the records carry it; bpf2go generates its Go twin.
 */
#pragma once

struct str_ref {
	__u16 off; /* from the start of the blob */
	__u16 len; /* bytes, NULs included; 0 when absent */
};
