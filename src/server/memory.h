/*
 * memory: the server's figure of the memory it uses (INFO used_memory,
 * maxmemory), cheap enough to read on every write command: the
 * allocator's allocated bytes (jemalloc stats.allocated, or the
 * sanitizer's figure in sanitizer builds) read at most once per
 * MEM_REFRESH_US by whichever thread finds the cached value stale, and a
 * cached atomic in between.
 *
 * Threading: any thread; lock-free.
 */
#ifndef LIGHTNING_MEMORY_H
#define LIGHTNING_MEMORY_H

#include <stddef.h>

#define MEM_REFRESH_US 1000

/* Allocated bytes, at most MEM_REFRESH_US old. */
size_t mem_used(void);
/* Allocated bytes read now (and cached). */
size_t mem_used_now(void);
/* After bytes were freed (eviction): re-reads the figure if the cached one
 * is MEM_FREED_REFRESH_US old or more, else takes the bytes off it — a
 * jemalloc epoch after every evicting write is a measurable share of its
 * cost, while a figure left stale for a whole MEM_REFRESH_US lets a
 * pipelined burst overshoot the limit (hundreds of writes fit in 1 ms). */
#define MEM_FREED_REFRESH_US 100
void mem_used_freed(size_t bytes);
/* 1 if the allocator reports its figures (jemalloc or a sanitizer). */
int mem_have_stats(void);

#endif
