// @ts-nocheck
// placeholder until the first generation
import { invoke as TAURI_INVOKE } from "@tauri-apps/api/core";
import * as TAURI_API_EVENT from "@tauri-apps/api/event";
export const commands = {
async dataHome() : Promise<Result<string, ApiError>> { try { return { status: "ok", data: await TAURI_INVOKE("data_home") }; } catch (e) { if(e instanceof Error) throw e; else return { status: "error", error: e as any }; } },
async studies() : Promise<Result<StudyRow[], ApiError>> { try { return { status: "ok", data: await TAURI_INVOKE("studies") }; } catch (e) { if(e instanceof Error) throw e; else return { status: "error", error: e as any }; } },
async startScan(paths: string[]) : Promise<Result<null, ApiError>> { try { return { status: "ok", data: await TAURI_INVOKE("start_scan", { paths }) }; } catch (e) { if(e instanceof Error) throw e; else return { status: "error", error: e as any }; } }
}
export const events = {
scanProgress: { listen: (cb) => TAURI_API_EVENT.listen("scan-progress", cb) },
scanFinished: { listen: (cb) => TAURI_API_EVENT.listen("scan-finished", cb) },
scanFailed: { listen: (cb) => TAURI_API_EVENT.listen("scan-failed", cb) },
} as { scanProgress: { listen: (cb: (e: { payload: ScanProgress }) => void) => Promise<() => void> }, scanFinished: { listen: (cb: (e: { payload: ScanFinished }) => void) => Promise<() => void> }, scanFailed: { listen: (cb: (e: { payload: ScanFailed }) => void) => Promise<() => void> } }
export type ApiError = { code: string; message: string; class: ErrorClass; usage: boolean }
export type ErrorClass = "permanent" | "transient"
export type ScanFailed = { error: ApiError }
export type ScanFinished = { summary: ScanSummary; elapsed_ms: number }
export type ScanProgress = { done: number; total: number; bytes: number; elapsed_ms: number }
export type ScanSummary = { files: number; instances: number; studies: number; series: number; patients: number; dicomdirs: number; read: number; skipped: Skipped[]; failed: number }
export type Skipped = { path: string; reason: string; code: string }
export type StudyRow = { id: number; study_uid: string; patient_id: string; patient_name: string; study_date: string; description: string; modalities: string; series: number; instances: number }
export type Result<T, E> = { status: "ok"; data: T } | { status: "error"; error: E };
