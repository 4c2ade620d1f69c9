/* Test-environment shim, never shipped: Debian 12's wine 8 has no bcryptprimitives.dll, whose
 * ProcessPrng is what Rust's standard library asks for random bytes on Windows 10/11. This DLL
 * exports it, forwarding to RtlGenRandom (advapi32's SystemFunction036), so that Windows builds
 * of Deposit can be tested under wine. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG n = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, n))
            return FALSE;
        data += n;
        length -= n;
    }
    return TRUE;
}
