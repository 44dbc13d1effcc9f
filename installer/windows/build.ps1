# Build the Windows bundle and MSI on a Windows build machine (or the windows-latest runner,
# .github/workflows/windows.yml). Needs Python 3.11+ (py launcher) and WiX Toolset 3.14
# (candle.exe, light.exe, heat.exe on PATH). From the repository root:
#   powershell -ExecutionPolicy Bypass -File installer\windows\build.ps1
# Writes dist\access-probe-VERSION-x64.msi and prints its path.
$ErrorActionPreference = "Stop"
Set-Location (Join-Path $PSScriptRoot "..\..")

py -3.11 -m venv build-venv
build-venv\Scripts\python -m pip install --upgrade pip build
build-venv\Scripts\python -m build --outdir dist .
$wheel = Get-ChildItem dist\access_probe-*-py3-none-any.whl | Select-Object -First 1
$version = $wheel.Name.Split("-")[1]
build-venv\Scripts\python -m pip install "$($wheel.FullName)[tray]" pyinstaller
build-venv\Scripts\pyinstaller --noconfirm --distpath dist\windows --workpath build\pyinstaller `
    installer\windows\access-probe.spec
$payload = "dist\windows\access-probe"
Copy-Item $wheel.FullName $payload

# The same .wxs wixl builds on Linux; heat harvests the PyInstaller folder into "Payload".
$work = "build\msi"
New-Item -ItemType Directory -Force $work | Out-Null
Copy-Item installer\windows\access-probe.wxs, installer\windows\access-probe-task.xml, installer\config.sample.yaml $work
heat dir $payload -nologo -ag -srd -sreg -dr INSTALLDIR -cg Payload -var var.Payload -out "$work\payload.wxs"
candle -nologo -arch x64 -dVersion=$version -dPayload=$((Resolve-Path $payload).Path) -dWin64=yes `
    -out "$work\" "$work\access-probe.wxs" "$work\payload.wxs"
light -nologo -b $work -out "dist\access-probe-$version-x64.msi" "$work\access-probe.wixobj" "$work\payload.wixobj"
Write-Output (Resolve-Path "dist\access-probe-$version-x64.msi").Path
