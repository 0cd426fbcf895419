/**
 * GraphBuilder: appends ONNX nodes with generated value names and collects initializers, so the
 * model files in scripts/onnx/ read like the forward pass they encode. Encoding is proto.ts.
 */
import { tensor, type AttrValue, type Graph, type Node, type Tensor, type TypedData, type ValueInfo } from "./proto.js";

export class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly initializers: Tensor[] = [];
  readonly inputs: ValueInfo[] = [];
  readonly outputs: ValueInfo[] = [];
  private n = 0;
  private consts = new Map<string, string>();

  constructor(readonly name: string) {}

  /** One node with one output; returns the output name. */
  op(opType: string, inputs: readonly string[], attrs?: Record<string, AttrValue>, domain?: string): string {
    const out = `${opType.toLowerCase()}_${this.n++}`;
    this.nodes.push({ opType, inputs, outputs: [out], name: out, attrs, domain });
    return out;
  }

  /** One node with `k` outputs. */
  opN(opType: string, inputs: readonly string[], k: number, attrs?: Record<string, AttrValue>, domain?: string): string[] {
    const base = `${opType.toLowerCase()}_${this.n++}`;
    const outs = Array.from({ length: k }, (_, i) => `${base}_${i}`);
    this.nodes.push({ opType, inputs, outputs: outs, name: base, attrs, domain });
    return outs;
  }

  init(name: string, dims: readonly number[], data: TypedData): string {
    this.initializers.push(tensor(name, dims, data));
    return name;
  }

  /** A shared small constant (int64 vector or f32 scalar/vector), deduplicated by value. */
  i64(vs: readonly number[]): string {
    return this.constant(`i64:${vs.join(",")}`, () => this.init(`c${this.n++}`, [vs.length], BigInt64Array.from(vs, BigInt)));
  }
  f32(v: number): string {
    return this.constant(`f32:${v}`, () => this.init(`c${this.n++}`, [], Float32Array.of(v)));
  }
  private constant(key: string, make: () => string): string {
    let name = this.consts.get(key);
    if (name === undefined) this.consts.set(key, (name = make()));
    return name;
  }

  input(v: ValueInfo): string {
    this.inputs.push(v);
    return v.name;
  }

  /** Marks `value` as a graph output named `v.name` (through Identity). */
  output(value: string, v: ValueInfo): void {
    this.nodes.push({ opType: "Identity", inputs: [value], outputs: [v.name], name: `out_${v.name}` });
    this.outputs.push(v);
  }

  graph(): Graph {
    return { name: this.name, nodes: this.nodes, initializers: this.initializers, inputs: this.inputs, outputs: this.outputs };
  }
}
