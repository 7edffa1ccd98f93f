/* A stand-in for a kernel module's object: only its .modinfo section
 * matters to the inventory. Built by testdata/make.sh. */
#ifndef NAME
#define NAME vh_mod
#endif
#define STR2(x) #x
#define STR(x) STR2(x)
__attribute__((section(".modinfo"), used, aligned(1))) static const char modinfo[] =
	"license=" LICENSE "\0"
	"author=vigil tests <tests@example.org>\0"
	"description=" STR(NAME) " fixture module\0"
				 "depends=" DEPENDS "\0"
				 "srcversion=0123456789ABCDEF0123456\0"
				 "name=" STR(NAME) "\0"
						   "vermagic=6.1.0-vigil SMP mod_unload \0";
int init_module(void)
{
	return 0;
}
