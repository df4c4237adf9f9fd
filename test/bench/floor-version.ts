/**
 * The reference beside `gateway --version`: a compiled Bun program that prints a version and exits, built with the
 * product's flags into dist/bench-floor-version by test/bench/run.ts. What `--version` costs beyond it is the
 * binary's own start-up work before it can answer.
 */
console.log("0.0.0")
