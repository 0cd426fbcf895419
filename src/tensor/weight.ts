/**
 * A weight matrix as every layer sees it: ne1 rows of ne0 elements in the tensor's GGUF encoding
 * (ggml order: ne0 is the contiguous dimension). `data` holds exactly the tensor's bytes (a view
 * into the file buffer or into a backend's memory).
 */
import type { GGMLType } from "./ggml-type.js";

export interface Weight {
  /** tensor name, used in error messages */
  readonly name: string;
  readonly type: GGMLType;
  /** row length (elements): the reduction dimension K of a matmul */
  readonly ne0: number;
  /** number of rows: the output dimension N */
  readonly ne1: number;
  readonly data: Uint8Array;
}
