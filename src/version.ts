/** Version and build identity. The build defines GATEWAY_BUILD_ID; from source it reads "dev". */
import pkg from "../package.json" with { type: "json" }

declare const GATEWAY_BUILD_ID: string | undefined

export const VERSION: string = pkg.version
export const BUILD_ID: string = typeof GATEWAY_BUILD_ID === "string" ? GATEWAY_BUILD_ID : "dev"
