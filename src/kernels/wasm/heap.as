// AssemblyScript. The first byte the JS allocator may use: AssemblyScript's static data ends at
// __heap_base (the kernels allocate nothing themselves).
export function heapBase(): usize { return __heap_base; }
