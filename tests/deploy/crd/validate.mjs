// Reads a JSON array of Kubernetes objects on stdin and prints, as JSON, each one's errors
// against the validator kubernetes-models generated from its CRD (an empty list: valid).
import { readFileSync } from "node:fs";
import { ScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";

const models = {
  "keda.sh/v1alpha1/ScaledObject": ScaledObject,
  "monitoring.coreos.com/v1/ServiceMonitor": ServiceMonitor,
};
const objects = JSON.parse(readFileSync(0, "utf8"));
const results = objects.map((object) => {
  const Model = models[`${object.apiVersion}/${object.kind}`];
  if (!Model) return [`no validator for ${object.apiVersion} ${object.kind}`];
  try {
    new Model(object).validate();
    return [];
  } catch (error) {
    return [String(error.message)];
  }
});
process.stdout.write(JSON.stringify(results));
