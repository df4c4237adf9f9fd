/**
 * Path of the sqlite-vec library embedded in the compiled binary. install/build.ts replaces this module per target
 * with a `with { type: "file" }` import of that target's vec0 file; from source it is undefined and the library is
 * taken from node_modules instead.
 */
export const EMBEDDED_VEC0: string | undefined = undefined
