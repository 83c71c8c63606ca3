/** A child for the kill test: saves two models (seeds 1 and 2) into one directory, alternately, forever. */
import { buildArchitecture } from "../../src/zoo/architectures.js";
import { saveModel } from "../../src/saved/saved-model.js";

const dir = process.argv[2];
const models = [buildArchitecture("reference", 1), buildArchitecture("reference", 2)];
for (let i = 0; ; i++) {
  saveModel(dir, models[i % 2], { architectureName: `version ${i % 2}` });
  if (i === 0) process.stdout.write("saved\n");
}
