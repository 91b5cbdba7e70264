#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <linux/rbtree_augmented.h>
#include <linux/list.h>
struct vmap_area {
	unsigned long va_start, va_end;
	struct rb_node rb_node;
	struct list_head list;
	union { unsigned long subtree_max_size; void *vm; };
	unsigned long flags;
};
#define DEBUG_AUGMENT_PROPAGATE_CHECK 0
#define DEBUG_AUGMENT_LOWEST_MATCH_CHECK 0
static void *vmap_area_cachep;
#define kmem_cache_free(c,p) free(p)
#define kmem_cache_alloc(c,g) ((struct vmap_area *)calloc(1,sizeof(struct vmap_area)))
#define __this_cpu_xchg(v, n) NULL
#undef WARN
#undef WARN_ON
#undef WARN_ON_ONCE
#define WARN(c, ...) ({ int __c = !!(c); if (__c) fprintf(stderr, __VA_ARGS__); __c; })
#define WARN_ON(c) WARN(c, "WARN_ON\n")
#define WARN_ON_ONCE(c) WARN(c, "WARN_ON_ONCE\n")
#ifndef __always_inline
#define __always_inline inline
#endif
#define GFP_NOWAIT 0
#undef ALIGN
#define ALIGN(x,a) (((x)+(a)-1)&~((unsigned long)(a)-1))
#define PAGE_SIZE 4096UL
#define kasan_reset_tag(x) (x)
#include "extract.c"
static struct rb_root root = RB_ROOT;
static LIST_HEAD(head);
static void dump(struct rb_node *n) {
	if (!n) { printf("-"); return; }
	struct vmap_area *va = rb_entry(n, struct vmap_area, rb_node);
	printf("(%lx,%lx,%c,%lx ", va->va_start, va->va_end, rb_is_red(n) ? 'r' : 'b', va->subtree_max_size);
	dump(n->rb_left); printf(" "); dump(n->rb_right); printf(")");
}
int main(void) {
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct vmap_area *va = calloc(1, sizeof(*va));
	va->va_start = 1; va->va_end = ~0UL;
	insert_vmap_area_augment(va, NULL, &root, &head);
	char op[4]; unsigned long a, b, c, d;
	while (scanf("%3s", op) == 1) {
		if (op[0] == 'A') {
			scanf("%lx %lx %lx %lx", &a, &b, &c, &d);
			unsigned long r = __alloc_vmap_area(&root, &head, a, b, c, d);
			printf("%lx\n", r == d ? 0UL : r);
		} else if (op[0] == 'F') {
			scanf("%lx %lx", &a, &b);
			va = calloc(1, sizeof(*va)); va->va_start = a; va->va_end = b;
			merge_or_add_vmap_area_augment(va, &root, &head);
		} else if (op[0] == 'D') {
			dump(root.rb_node); printf("\n");
		}
	}
	return 0;
}
