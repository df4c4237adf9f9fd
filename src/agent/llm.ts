/**
 * The AI SDK side of the agent, bundled as a separate entry point of the compiled binary and imported on the first
 * model call: a gateway that never runs a model never loads (or even maps) the SDK and its providers.
 */
export { resolveModel, ProviderError, type ResolvedModel } from "./providers.ts"
export { streamModel } from "./model-call.ts"
