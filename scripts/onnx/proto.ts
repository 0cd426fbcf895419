/**
 * A minimal ONNX protobuf writer (encode only), for the peer benchmark's graphs: no Python, no
 * protobuf library. Field numbers from onnx/onnx.proto (ModelProto, GraphProto, NodeProto,
 * AttributeProto, TensorProto, ValueInfoProto, TypeProto, TensorShapeProto, OperatorSetIdProto);
 * wire format per protobuf's encoding guide (varint, fixed32, length-delimited).
 *
 * A message is a list of byte chunks (`Msg`), so a 200 MB initializer is never copied into a
 * parent buffer; `writeModel` concatenates once at the end.
 */

/** Encoded protobuf bytes, kept as chunks. */
export type Msg = { parts: Uint8Array[]; len: number };

/** onnx.TensorProto.DataType */
export const DT = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10 } as const;

/** onnx.AttributeProto.AttributeType */
const AT = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

const WIRE_VARINT = 0,
  WIRE_LEN = 2,
  WIRE_FIXED32 = 5;

/** Base-128 varint; negative numbers as 64-bit two's complement (10 bytes), as protobuf int64. */
function varint(v: number | bigint): Uint8Array {
  let b = BigInt.asUintN(64, BigInt(v));
  const out: number[] = [];
  while (b >= 0x80n) {
    out.push(Number(b & 0x7fn) | 0x80);
    b >>= 7n;
  }
  out.push(Number(b));
  return Uint8Array.from(out);
}

const msg = (): Msg => ({ parts: [], len: 0 });
function push(m: Msg, b: Uint8Array): void {
  m.parts.push(b);
  m.len += b.length;
}
const tag = (field: number, wire: number) => varint((field << 3) | wire);

function fInt(m: Msg, field: number, v: number | bigint): void {
  push(m, tag(field, WIRE_VARINT));
  push(m, varint(v));
}
function fFloat(m: Msg, field: number, v: number): void {
  push(m, tag(field, WIRE_FIXED32));
  const b = new Uint8Array(4);
  new DataView(b.buffer).setFloat32(0, v, true);
  push(m, b);
}
function fBytes(m: Msg, field: number, b: Uint8Array): void {
  push(m, tag(field, WIRE_LEN));
  push(m, varint(b.length));
  push(m, b);
}
const utf8 = new TextEncoder();
const fStr = (m: Msg, field: number, s: string) => fBytes(m, field, utf8.encode(s));
function fMsg(m: Msg, field: number, sub: Msg): void {
  push(m, tag(field, WIRE_LEN));
  push(m, varint(sub.len));
  for (const p of sub.parts) push(m, p);
}
/** A packed repeated varint field (proto3 default for repeated scalars). */
function fPackedInts(m: Msg, field: number, vs: readonly number[]): void {
  const body = msg();
  for (const v of vs) push(body, varint(v));
  fMsg(m, field, body);
}

export interface Tensor {
  name: string;
  dataType: number; // DT
  dims: readonly number[];
  /** little-endian element bytes (TensorProto.raw_data) */
  raw: Uint8Array;
}

/** TensorProto: dims 1, data_type 2, name 8, raw_data 9. */
export function tensorProto(t: Tensor): Msg {
  const m = msg();
  fPackedInts(m, 1, t.dims);
  fInt(m, 2, t.dataType);
  fStr(m, 8, t.name);
  fBytes(m, 9, t.raw);
  return m;
}

export type AttrValue = number | string | number[] | { floats: number[] } | { float: number } | { tensor: Tensor };

/** AttributeProto: name 1, f 2, i 3, s 4, t 5, floats 7, ints 8, type 20. Plain numbers are INT. */
function attributeProto(name: string, v: AttrValue): Msg {
  const m = msg();
  fStr(m, 1, name);
  if (typeof v === "number") {
    fInt(m, 3, v);
    fInt(m, 20, AT.INT);
  } else if (typeof v === "string") {
    fStr(m, 4, v);
    fInt(m, 20, AT.STRING);
  } else if (Array.isArray(v)) {
    fPackedInts(m, 8, v);
    fInt(m, 20, AT.INTS);
  } else if ("float" in v) {
    fFloat(m, 2, v.float);
    fInt(m, 20, AT.FLOAT);
  } else if ("floats" in v) {
    const body = msg();
    for (const f of v.floats) {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setFloat32(0, f, true);
      push(body, b);
    }
    fMsg(m, 7, body);
    fInt(m, 20, AT.FLOATS);
  } else {
    fMsg(m, 5, tensorProto(v.tensor));
    fInt(m, 20, AT.TENSOR);
  }
  return m;
}

export interface Node {
  opType: string;
  inputs: readonly string[]; // "" for an omitted optional input
  outputs: readonly string[];
  name?: string;
  domain?: string; // "" = ai.onnx; "com.microsoft" for contrib ops
  attrs?: Record<string, AttrValue>;
}

/** NodeProto: input 1, output 2, name 3, op_type 4, attribute 5, domain 7. */
function nodeProto(n: Node): Msg {
  const m = msg();
  for (const i of n.inputs) fStr(m, 1, i);
  for (const o of n.outputs) fStr(m, 2, o);
  if (n.name) fStr(m, 3, n.name);
  fStr(m, 4, n.opType);
  for (const [k, v] of Object.entries(n.attrs ?? {})) fMsg(m, 5, attributeProto(k, v));
  if (n.domain) fStr(m, 7, n.domain);
  return m;
}

export interface ValueInfo {
  name: string;
  elemType: number; // DT
  /** a number is a fixed size, a string a symbolic dimension */
  shape: readonly (number | string)[];
}

/** ValueInfoProto{name 1, type 2} > TypeProto{tensor_type 1} > Tensor{elem_type 1, shape 2} > Dimension{value 1, param 2}. */
function valueInfoProto(v: ValueInfo): Msg {
  const shape = msg();
  for (const d of v.shape) {
    const dim = msg();
    if (typeof d === "number") fInt(dim, 1, d);
    else fStr(dim, 2, d);
    fMsg(shape, 1, dim);
  }
  const tt = msg();
  fInt(tt, 1, v.elemType);
  fMsg(tt, 2, shape);
  const type = msg();
  fMsg(type, 1, tt);
  const m = msg();
  fStr(m, 1, v.name);
  fMsg(m, 2, type);
  return m;
}

export interface Graph {
  name: string;
  nodes: readonly Node[];
  initializers: readonly Tensor[];
  inputs: readonly ValueInfo[];
  outputs: readonly ValueInfo[];
}

export interface Model {
  graph: Graph;
  /** domain -> opset version, e.g. { "": 20, "com.microsoft": 1 } */
  opsets: Record<string, number>;
  irVersion: number;
  producer?: string;
}

/** GraphProto: node 1, name 2, initializer 5, input 11, output 12. */
function graphProto(g: Graph): Msg {
  const m = msg();
  for (const n of g.nodes) fMsg(m, 1, nodeProto(n));
  fStr(m, 2, g.name);
  for (const t of g.initializers) fMsg(m, 5, tensorProto(t));
  for (const i of g.inputs) fMsg(m, 11, valueInfoProto(i));
  for (const o of g.outputs) fMsg(m, 12, valueInfoProto(o));
  return m;
}

/** ModelProto: ir_version 1, producer_name 2, graph 7, opset_import 8 (OperatorSetIdProto{domain 1, version 2}). */
export function writeModel(model: Model): Uint8Array {
  const m = msg();
  fInt(m, 1, model.irVersion);
  fStr(m, 2, model.producer ?? "gguf-embed scripts/onnx");
  fMsg(m, 7, graphProto(model.graph));
  for (const [domain, version] of Object.entries(model.opsets)) {
    const o = msg();
    fStr(o, 1, domain);
    fInt(o, 2, version);
    fMsg(m, 8, o);
  }
  const out = new Uint8Array(m.len);
  let at = 0;
  for (const p of m.parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A tensor from typed values (little-endian host, as every supported platform is). */
export type TypedData = Float32Array | Int8Array | Uint8Array | Int32Array | BigInt64Array;

export function tensor(name: string, dims: readonly number[], data: TypedData): Tensor {
  const dataType =
    data instanceof Float32Array
      ? DT.FLOAT
      : data instanceof Int8Array
        ? DT.INT8
        : data instanceof Uint8Array
          ? DT.UINT8
          : data instanceof Int32Array
            ? DT.INT32
            : DT.INT64;
  return { name, dataType, dims, raw: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}
