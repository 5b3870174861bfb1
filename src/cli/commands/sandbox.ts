import { usageError } from "../../core/errors.js";

const notYet = async (_args?: unknown): Promise<string> => {
  throw usageError("the sandbox is not available in this build", "see issue 4");
};
export const sandboxUp = notYet;
export const sandboxDown = notYet;
export const sandboxEnv = notYet;
export const sandboxDemo = notYet;
