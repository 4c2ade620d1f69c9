; Deposit for Windows: the installer (NSIS, built by installers/build-windows.sh with Debian's
; makensis; no plug-ins beyond NSIS's own).
;
;   makensis -DVERSION=0.1.0 -DDIST=<folder with deposit.exe and its DLLs> -DOUT=<setup.exe>
;            [-DALLUSERS]  deposit.nsi
;
; Per user (default): no administrator rights; installs into %LOCALAPPDATA%\Programs\Deposit,
; registers its uninstaller under HKCU. With -DALLUSERS (site IT): into Program Files, HKLM.
; Upgrading installs over the same folder; the data home (%LOCALAPPDATA%\Deposit) and the
; settings (%APPDATA%\Deposit) are never touched by installing, and kept by uninstalling unless
; the user asks (a question in the window, or /PURGE on the command line).
;
; Silent use: setup.exe /S [/D=C:\path]; uninstall.exe /S [/PURGE].

; a 64-bit installer (deposit.exe is 64-bit; Windows 10/11 and Server are)
Target amd64-unicode
SetCompressor /SOLID lzma

!ifndef VERSION
  !error "VERSION is not defined"
!endif
!ifndef DIST
  !error "DIST is not defined"
!endif
!ifndef OUT
  !error "OUT is not defined"
!endif

!include "FileFunc.nsh"

Name "Deposit ${VERSION}"
OutFile "${OUT}"
BrandingText "Deposit ${VERSION}"

!ifdef ALLUSERS
  RequestExecutionLevel admin
  InstallDir "$PROGRAMFILES64\Deposit"
  !define REGROOT HKLM
!else
  RequestExecutionLevel user
  InstallDir "$LOCALAPPDATA\Programs\Deposit"
  !define REGROOT HKCU
!endif
!define UNINSTKEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\Deposit"

; an earlier installation is upgraded where it is
InstallDirRegKey ${REGROOT} "${UNINSTKEY}" "InstallLocation"

Page directory
Page instfiles
UninstPage uninstConfirm
UninstPage instfiles

; Stops the installation when $INSTDIR\FILE is open (a running program cannot be replaced).
!macro RefuseWhenRunning FILE
  IfFileExists "$INSTDIR\${FILE}" 0 +7
    ClearErrors
    FileOpen $0 "$INSTDIR\${FILE}" a
    IfErrors 0 +3
      MessageBox MB_OK|MB_ICONSTOP "Deposit is running (a window, a receiver or the web service). Stop it, then run the installer again." /SD IDOK
      Abort
    FileClose $0
!macroend

; The window is drawn by Microsoft's WebView2 runtime (part of Windows 11; Windows 10 may lack
; it). Missing, the installation goes on (the command line works without it) and says what to do.
!define WEBVIEW2_CLIENT "Microsoft\EdgeUpdate\Clients\{F3017226-FE2A-4295-8BDF-00C3A9A7E4C5}"
Function WarnWithoutWebView2
  ReadRegStr $0 HKLM "SOFTWARE\WOW6432Node\${WEBVIEW2_CLIENT}" "pv"
  StrCmp $0 "" 0 +2
    ReadRegStr $0 HKCU "Software\${WEBVIEW2_CLIENT}" "pv"
  StrCmp $0 "" missing
  StrCmp $0 "0.0.0.0" missing found
  missing:
    MessageBox MB_OK|MB_ICONINFORMATION "Deposit's window needs the Microsoft Edge WebView2 Runtime, which is not installed on this computer.$\r$\n$\r$\nInstall it from https://developer.microsoft.com/microsoft-edge/webview2/ (no administrator rights needed) or ask your IT department. The command line (deposit.exe) works without it." /SD IDOK
  found:
FunctionEnd

Function .onInit
!ifdef ALLUSERS
  SetShellVarContext all
!else
  SetShellVarContext current
!endif
FunctionEnd

Section "Deposit"
  SetOutPath "$INSTDIR"
  ; a running receiver, web service or window keeps its program open: say so instead of
  ; half-upgrading
  !insertmacro RefuseWhenRunning "deposit.exe"
  !insertmacro RefuseWhenRunning "deposit-app.exe"
  File "${DIST}\*.exe"
  File /nonfatal "${DIST}\*.dll"
  File "${DIST}\README-windows.txt"
  File /r "${DIST}\ui"
  File "${DIST}\deposit.example.toml"

  ; "Deposit": the window
  CreateDirectory "$SMPROGRAMS\Deposit"
  CreateShortcut "$SMPROGRAMS\Deposit\Deposit.lnk" "$INSTDIR\deposit-app.exe"
  ; "Deposit command line": a console where `deposit` is on the PATH
  CreateDirectory "$SMPROGRAMS\Deposit"
  CreateShortcut "$SMPROGRAMS\Deposit\Deposit command line.lnk" "$SYSDIR\cmd.exe" \
    '/k "set PATH=$INSTDIR;%PATH% && deposit --help"' "$INSTDIR\deposit.exe" 0
  CreateShortcut "$SMPROGRAMS\Deposit\Uninstall Deposit.lnk" "$INSTDIR\uninstall.exe"

  WriteUninstaller "$INSTDIR\uninstall.exe"
  WriteRegStr ${REGROOT} "${UNINSTKEY}" "DisplayName" "Deposit"
  WriteRegStr ${REGROOT} "${UNINSTKEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr ${REGROOT} "${UNINSTKEY}" "Publisher" "Deposit"
  WriteRegStr ${REGROOT} "${UNINSTKEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr ${REGROOT} "${UNINSTKEY}" "DisplayIcon" "$INSTDIR\deposit-app.exe"
  WriteRegStr ${REGROOT} "${UNINSTKEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr ${REGROOT} "${UNINSTKEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD ${REGROOT} "${UNINSTKEY}" "NoModify" 1
  WriteRegDWORD ${REGROOT} "${UNINSTKEY}" "NoRepair" 1
  Call WarnWithoutWebView2
SectionEnd

Function un.onInit
!ifdef ALLUSERS
  SetShellVarContext all
!else
  SetShellVarContext current
!endif
FunctionEnd

Section "Uninstall"
  Delete "$INSTDIR\*.exe"
  Delete "$INSTDIR\*.dll"
  Delete "$INSTDIR\README-windows.txt"
  Delete "$INSTDIR\deposit.example.toml"
  RMDir /r "$INSTDIR\ui"
  RMDir "$INSTDIR"
  Delete "$SMPROGRAMS\Deposit\Deposit.lnk"
  Delete "$SMPROGRAMS\Deposit\Deposit command line.lnk"
  Delete "$SMPROGRAMS\Deposit\Uninstall Deposit.lnk"
  RMDir "$SMPROGRAMS\Deposit"
  DeleteRegKey ${REGROOT} "${UNINSTKEY}"

  ; the data home holds the catalog, the outbox, the quarantine and the site key: kept unless
  ; asked (the site key links pseudonyms across years of deliveries)
  ${GetParameters} $0
  ClearErrors
  ${GetOptions} $0 "/PURGE" $1
  IfErrors 0 purge
  MessageBox MB_YESNO|MB_ICONQUESTION|MB_DEFBUTTON2 \
    "Also delete Deposit's data (catalog, outbox, quarantine, site key) in $LOCALAPPDATA\Deposit and its settings in $APPDATA\Deposit?$\r$\n$\r$\nKeep them to reinstall later with the same pseudonyms." \
    /SD IDNO IDYES purge
  Goto done
  purge:
    SetShellVarContext current
    RMDir /r "$LOCALAPPDATA\Deposit"
    RMDir /r "$APPDATA\Deposit"
  done:
SectionEnd
